/**
 * The extension's entry point: wiring only. Each piece lives in extension/ui/.
 */
import * as vscode from 'vscode';
import { registerCommands } from './ui/commands';
import { UsernetConfigurationProvider } from './ui/configuration-provider';
import { ConsolePanels } from './ui/console-panel';
import { UsernetAdapterFactory } from './ui/debug-adapter-factory';
import { SessionsTree } from './ui/sessions-tree';
import { StagesTree } from './ui/stages-tree';
import { VmStatusBar } from './ui/status-bar';
import { VmNotifications } from './ui/vm-notifications';
import { DEBUG_TYPE, VmSessions } from './ui/vm-sessions';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Usernet', { log: true });
  const vms = new VmSessions(log);
  const consoles = new ConsolePanels(vms, context.extensionUri, log);
  const sessionsTree = new SessionsTree(vms);
  const stagesTree = new StagesTree(vms);

  context.subscriptions.push(
    log,
    vms,
    consoles,
    sessionsTree,
    sessionsTree.createView(),
    stagesTree,
    stagesTree.createView(),
    new VmStatusBar(vms),
    new VmNotifications(vms, log),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new UsernetAdapterFactory(context.extensionUri)),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new UsernetConfigurationProvider()),
    // Offers "Usernet VM" in the Run and Debug picker without a launch.json.
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, {
      provideDebugConfigurations: () => new UsernetConfigurationProvider().provideDebugConfigurations(),
    }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    ...registerCommands({ vms, consoles, sessionsTree, log }),
  );
  log.info('Usernet is active');
}

export function deactivate(): void {}

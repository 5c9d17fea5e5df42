/**
 * The extension's entry point: wiring only. Each piece lives in extension/ui/.
 */
import * as vscode from 'vscode';
import * as languageClient from 'vscode-languageclient/node';
import { CaptureEditorProvider } from './ui/capture-editor';
import { registerCommands } from './ui/commands';
import { dynamicConfigurations, UsernetConfigurationProvider } from './ui/configuration-provider';
import { ConsolePanels } from './ui/console-panel';
import { ProfileLanguageClient } from './ui/profile-client';
import { registerProfileCommands } from './ui/profile-commands';
import { UsernetAdapterFactory } from './ui/debug-adapter-factory';
import { registerFlowCommands } from './ui/flow-commands';
import { FlowViews } from './ui/flow-panel';
import { SessionsTree } from './ui/sessions-tree';
import { registerStageCommands } from './ui/stage-commands';
import { StagesTree } from './ui/stages-tree';
import { TopologyPanel } from './ui/topology-panel';
import { CaptureStatusBar, VmStatusBar } from './ui/status-bar';
import { ConditionsStatusBar, registerConditionCommands } from './ui/netem-ui';
import { VmNotifications } from './ui/vm-notifications';
import { WalkthroughProgress } from './ui/walkthrough';
import { registerWalkthroughCommands } from './ui/walkthrough-commands';
import { DEBUG_TYPE, VmSessions } from './ui/vm-sessions';

let profileClient: ProfileLanguageClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Usernet', { log: true });
  const vms = new VmSessions(log);
  const consoles = new ConsolePanels(vms, context.extensionUri, log, undefined, context.globalStorageUri);
  const sessionsTree = new SessionsTree(vms);
  const stagesTree = new StagesTree(vms);
  const topology = new TopologyPanel(vms, context.extensionUri, log);
  profileClient = new ProfileLanguageClient(context.extensionUri, languageClient, log);
  const sessionsView = sessionsTree.createView();
  const flowViews = new FlowViews(context.extensionUri, log);
  const walkthrough = new WalkthroughProgress(vms);

  context.subscriptions.push(
    log,
    vms,
    consoles,
    sessionsTree,
    sessionsView,
    flowViews,
    ...registerFlowCommands(vms, flowViews, sessionsView, log),
    stagesTree,
    stagesTree.createView(),
    new VmStatusBar(vms),
    new CaptureStatusBar(vms),
    new ConditionsStatusBar(vms),
    new VmNotifications(vms, log, () => log.show()),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new UsernetAdapterFactory(context.extensionUri)),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new UsernetConfigurationProvider()),
    // Offers "Usernet VM" in the Run and Debug picker without a launch.json.
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, {
      provideDebugConfigurations: dynamicConfigurations,
    }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    ...registerCommands({ vms, consoles, sessionsTree, log }),
    walkthrough,
    ...registerWalkthroughCommands({ vms, consoles, progress: walkthrough, log }),
    ...registerConditionCommands(vms, log),
    ...registerProfileCommands(log),
    ...registerStageCommands(),
    topology,
    vscode.commands.registerCommand('usernet.showTopology', () => topology.show()),
    profileClient,
    CaptureEditorProvider.register(context.extensionUri, log),
  );
  log.info('Usernet is active');
}

/** VS Code waits for the profile language server to stop. */
export function deactivate(): Promise<void> | undefined {
  return profileClient?.stop();
}

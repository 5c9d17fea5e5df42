/**
 * The `Usernet:` commands and the NAT Sessions view's item actions. Every
 * request the adapter refuses ends in a notification that says what failed
 * and why (the reason is the adapter's DAP error message).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CAPTURE_VIEW_TYPE } from './capture-editor';
import type { UsernetRequestName, UsernetRequests } from '../debug/protocol';
import { askText } from './ask-text';
import { DEFAULT_CONFIGURATION } from './configuration-provider';
import { filterProblem } from './stage-commands';
import { errorText, type ConsolePanels } from './console-panel';
import type { Log } from './log';
import { sessionFilterProblem } from './session-filter';
import { forwardLabel, forwardSpecProblem, inputStageOf, sessionFilter, sessionTupleText } from './session-format';
import { SESSIONS_VIEW_ID, type SessionsNode, type SessionsTree } from './sessions-tree';
import type { Vm, VmSessions } from './vm-sessions';

export interface CommandContext {
  vms: VmSessions;
  consoles: ConsolePanels;
  sessionsTree: SessionsTree;
  log: Log;
}

/**
 * Sends a custom request. On refusal tells the user `could not <what>: <reason>`
 * and resolves undefined; on success resolves `{ result }`.
 */
export async function request<N extends UsernetRequestName>(
  vm: Vm, name: N, args: UsernetRequests[N]['args'], what: string, log: Log,
): Promise<{ result: UsernetRequests[N]['result'] } | undefined> {
  try {
    return { result: (await vm.session.customRequest(name, args)) as UsernetRequests[N]['result'] };
  } catch (e) {
    const reason = errorText(e);
    log.error(`${name} failed: ${reason}`);
    void vscode.window.showErrorMessage(`Usernet: could not ${what}: ${reason}`);
    return undefined;
  }
}

function requireVm(vms: VmSessions): Vm | undefined {
  const vm = vms.current;
  if (!vm) {
    void vscode.window.showErrorMessage('Usernet: no VM is running.', 'Launch VM').then((pick) => {
      if (pick) void vscode.commands.executeCommand('usernet.launch');
    });
  }
  return vm;
}

async function startCapture(ctx: CommandContext, vm: Vm, presetFilter?: string): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.tmpdir();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const target = await vscode.window.showSaveDialog({
    title: 'Usernet: save the capture as',
    // pcapng by default: each frame then carries its journey, stage and NAT mapping in a comment.
    defaultUri: vscode.Uri.file(path.join(folder, `usernet-${stamp}.pcapng`)),
    filters: { 'Packet capture (pcapng)': ['pcapng'], 'Packet capture (classic pcap)': ['pcap'] },
  });
  if (!target) return;
  const filter = presetFilter ?? await askText({
    title: 'Usernet: capture filter',
    prompt: 'Only packets matching this filter are captured (Wireshark display-filter syntax). Empty: everything.',
    placeHolder: 'tcp.port == 80 && ip.addr == 10.0.2.2',
    problem: filterProblem,
  });
  if (filter === undefined) return;
  const args = { file: target.fsPath, ...(filter.trim() ? { filter: filter.trim() } : {}) };
  if (!(await request(vm, 'usernet.startCapture', args, 'start the capture', ctx.log))) return;
  void vscode.window.showInformationMessage(`Usernet: capturing to ${target.fsPath}${args.filter ? ` (filter: ${args.filter})` : ''}.`);
}

/**
 * Where a saved file can be shown: the Explorer when it is in the workspace
 * (works in remote windows too), the OS file manager only when the window is
 * local (in a remote one it would open on the wrong machine).
 */
export function revealAction(uri: vscode.Uri): { label: string; command: string; uri: vscode.Uri } | undefined {
  if (vscode.workspace.getWorkspaceFolder(uri)) return { label: 'Reveal in Explorer', command: 'revealInExplorer', uri };
  if (!vscode.env.remoteName) return { label: 'Reveal in File Explorer', command: 'revealFileInOS', uri };
  return undefined;
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const { vms, consoles, sessionsTree, log } = ctx;
  const register = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, fn as (...args: unknown[]) => unknown);
  const sessionOf = (node: SessionsNode | undefined) => (node?.kind === 'session' ? node : undefined);

  return [
    register('usernet.launch', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      const started = await vscode.debug.startDebugging(folder, { ...DEFAULT_CONFIGURATION });
      if (!started) log.warn('the VM debug session did not start (VS Code reported the reason)');
    }),
    register('usernet.stop', async () => {
      const vm = requireVm(vms);
      if (vm) await vscode.debug.stopDebugging(vm.session);
    }),
    register('usernet.restart', async () => {
      const vm = requireVm(vms);
      if (!vm) return;
      const { workspaceFolder, configuration } = vm.session;
      await vscode.debug.stopDebugging(vm.session);
      await vscode.debug.startDebugging(workspaceFolder, configuration);
    }),
    register('usernet.openConsole', () => {
      const vm = requireVm(vms);
      if (vm) consoles.open(vm);
    }),
    // The topology view passes the filter of the part clicked ({ filter }); menus pass nothing.
    register('usernet.startCapture', async (preset?: { filter?: unknown }) => {
      const vm = requireVm(vms);
      const filter = typeof preset?.filter === 'string' ? preset.filter : undefined;
      if (vm) await startCapture(ctx, vm, filter);
    }),
    register('usernet.stopCapture', async () => {
      const vm = requireVm(vms);
      if (!vm) return;
      const result = (await request(vm, 'usernet.stopCapture', {}, 'stop the capture', log))?.result;
      if (!result) return;
      const where = result.file ? ` to ${result.file}` : '';
      const file = result.file ? vscode.Uri.file(result.file) : undefined;
      const reveal = file ? revealAction(file) : undefined;
      const pick = await vscode.window.showInformationMessage(`Usernet: captured ${result.captured} packets${where}.`, ...(file ? ['Open'] : []), ...(reveal ? [reveal.label] : []));
      if (pick === 'Open' && file) void vscode.commands.executeCommand('vscode.openWith', file, CAPTURE_VIEW_TYPE);
      else if (pick && reveal) void vscode.commands.executeCommand(reveal.command, reveal.uri);
    }),
    register('usernet.addForward', async () => {
      // Before the first launch (the Run and Debug welcome), the forward is set up at boot.
      const vm = vms.current;
      const spec = await askText({
        title: 'Usernet: add a port forward (hostfwd)',
        prompt: 'QEMU hostfwd syntax: [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport',
        placeHolder: 'tcp:127.0.0.1:2222-:22',
        problem: (s) => (s.trim() ? forwardSpecProblem(s) : undefined),
      });
      if (!spec?.trim()) return;
      const normalized = /^(tcp|udp):/.test(spec.trim()) ? spec.trim() : `tcp:${spec.trim()}`;
      if (!vm) {
        const config = { ...DEFAULT_CONFIGURATION, netdev: `user,hostfwd=${normalized}` };
        if (!(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], config))) log.warn('the VM debug session did not start (VS Code reported the reason)');
        return;
      }
      if (await request(vm, 'usernet.addForward', { spec: normalized }, `forward ${normalized}`, log)) {
        void vscode.window.showInformationMessage(`Usernet: forwarding ${normalized}.`);
      }
    }),
    register('usernet.removeForward', async (node?: SessionsNode) => {
      const vm = node?.kind === 'forward' ? node.vm : requireVm(vms);
      if (!vm) return;
      let row = node?.kind === 'forward' ? node.row : undefined;
      if (!row) {
        if (!vm.forwards.length) {
          void vscode.window.showInformationMessage('Usernet: the VM has no port forwards.');
          return;
        }
        const pick = await vscode.window.showQuickPick(
          vm.forwards.map((f) => ({ label: forwardLabel(f), description: f.protocol, forward: f })),
          { title: 'Usernet: remove a port forward' },
        );
        row = pick?.forward;
      }
      if (!row) return;
      const result = (await request(vm, 'usernet.removeForward', { protocol: row.protocol, hostAddr: row.hostAddr, hostPort: row.hostPort }, `remove the forward ${forwardLabel(row)}`, log))?.result;
      if (result && !result.removed) void vscode.window.showWarningMessage(`Usernet: no forward ${forwardLabel(row)} was found (already removed?).`);
    }),
    register('usernet.showInfo', async () => {
      const vm = requireVm(vms);
      if (!vm) return;
      const result = (await request(vm, 'usernet.infoUsernet', {}, 'read the NAT table', log))?.result;
      if (!result) return;
      const doc = await vscode.workspace.openTextDocument({ content: result.text, language: 'plaintext' });
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
    register('usernet.sessions.filter', async (preset?: unknown) => {
      // From the topology view: the filter of the part clicked, then the view itself.
      if (typeof preset === 'string' && !sessionFilterProblem(preset)) {
        sessionsTree.setFilter(preset);
        await vscode.commands.executeCommand(`${SESSIONS_VIEW_ID}.focus`);
        return;
      }
      const text = await askText({
        title: 'Usernet: filter NAT sessions',
        prompt: 'Wireshark display-filter syntax over each session\'s addresses and ports',
        placeHolder: 'tcp.dstport == 8080 || ip.addr == 10.0.2.3',
        value: sessionsTree.filterExpression,
        problem: sessionFilterProblem,
      });
      if (text !== undefined) sessionsTree.setFilter(text);
    }),
    register('usernet.sessions.clearFilter', () => sessionsTree.setFilter('')),
    register('usernet.session.close', async (node?: SessionsNode) => {
      const s = sessionOf(node);
      if (s) await request(s.vm, 'usernet.closeSession', { id: s.row.id }, `close the session ${sessionTupleText(s.row)}`, log);
    }),
    register('usernet.session.copy', async (node?: SessionsNode) => {
      const s = sessionOf(node);
      if (s) await vscode.env.clipboard.writeText(sessionTupleText(s.row));
    }),
    register('usernet.session.break', (node?: SessionsNode) => {
      const s = sessionOf(node);
      if (!s) return;
      const stage = inputStageOf(s.row);
      const condition = sessionFilter(s.row);
      vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(stage, true, condition)]);
      void vscode.window.showInformationMessage(`Usernet: breakpoint on ${stage} if ${condition}`);
    }),
    register('usernet.session.capture', async (node?: SessionsNode) => {
      const s = sessionOf(node);
      if (s) await startCapture(ctx, s.vm, sessionFilter(s.row));
    }),
  ];
}

/**
 * Show Flow and Show TCP Stream Graph (NAT Sessions rows and the palette), and
 * when flows are recorded: while the NAT Sessions view or a flow view is
 * visible. Off, the adapter arms no probe for them (a disabled probe costs
 * one branch); on, every new session is recorded from its first packet, so a
 * session opened while the view was visible shows its handshake.
 */
import * as vscode from 'vscode';
import type { SessionRow } from '../debug/protocol';
import type { FlowViewKind } from '../../webview/shared/flow-protocol';
import { errorText } from './console-panel';
import type { FlowViews } from './flow-panel';
import { liveFlowSource } from './flow-source';
import type { Log } from './log';
import { sessionLabel } from './session-format';
import type { SessionsNode } from './sessions-tree';
import type { Vm, VmSessions } from './vm-sessions';

export function registerFlowCommands(vms: VmSessions, views: FlowViews, sessionsView: vscode.TreeView<SessionsNode>, log: Log): vscode.Disposable[] {
  const sent = new Map<string, boolean>();
  const wanted = () => sessionsView.visible || views.count > 0;
  const tell = (vm: Vm) => {
    const on = wanted();
    if (sent.get(vm.id) === on) return;
    sent.set(vm.id, on);
    vm.session.customRequest('usernet.recordFlows', { on }).then(undefined, (e: unknown) => log.warn(`recordFlows: ${errorText(e)}`));
  };
  const tellAll = () => {
    for (const vm of vms.all) tell(vm);
  };

  const show = async (view: FlowViewKind, node?: SessionsNode) => {
    let vm: Vm | undefined;
    let row: SessionRow | undefined;
    if (node?.kind === 'session') ({ vm, row } = node);
    else {
      vm = vms.current;
      if (!vm) return void vscode.window.showErrorMessage('Usernet: no VM is running.');
      const rows = vm.sessions.filter((r) => view === 'flow' || r.protocol === 'tcp');
      if (!rows.length) return void vscode.window.showInformationMessage(`Usernet: the VM has no ${view === 'flow' ? '' : 'TCP '}NAT sessions now.`);
      const pick = await vscode.window.showQuickPick(rows.map((r) => ({ label: sessionLabel(r), description: `${r.protocol.toUpperCase()} ${r.state}`, row: r })), {
        title: view === 'flow' ? 'Usernet: show the flow of a NAT session' : 'Usernet: show the TCP stream graph of a session',
      });
      row = pick?.row;
    }
    if (!vm || !row) return;
    const endpoints = { protocol: row.protocol, guest: row.guest, slirp: row.remote, host: row.host };
    const title = `${view === 'flow' ? 'Flow' : 'TCP Stream'}: ${sessionLabel(row)}`;
    views.show(title, liveFlowSource(vm.session, row.id, endpoints), view);
    tellAll();
  };

  return [
    sessionsView.onDidChangeVisibility(tellAll),
    vms.onDidChange(({ vm, what }) => {
      if (what === 'start') tell(vm);
      else if (what === 'end') sent.delete(vm.id);
    }),
    views.onDidChangeCount(tellAll),
    vscode.commands.registerCommand('usernet.session.showFlow', (node?: SessionsNode) => show('flow', node)),
    vscode.commands.registerCommand('usernet.session.showStreamGraph', (node?: SessionsNode) => show('stream', node)),
  ];
}

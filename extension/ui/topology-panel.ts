/**
 * "Usernet: Show Topology": one webview panel drawing the current VM's network
 * (debug/topology-model.ts builds the picture's data, webview/topology draws
 * it). Updates follow the adapter's events, at most four a second. A click on
 * a part asks for one of its actions, run here with the part's own targets:
 * a capture filtered to it, a breakpoint on its stage, the NAT Sessions view
 * filtered to it, or "Simulate Conditions…" on its stages.
 */
import * as vscode from 'vscode';
import { buildTopology, dnsAddresses, FlowTotals, partById, type PartAction, type TopologyForward, type TopologyModel, type TopologyPart } from '../runtime/topology-model';
import { describeRefused } from '../../webview/shared/protocol';
import { isTopologyWebviewMessage, type TopologyHostMessage, type TopologyWebviewMessage } from '../../webview/shared/topology-protocol';
import { errorText } from './console-panel';
import type { Log } from './log';
import { RefreshBatcher } from './refresh-batcher';
import { topologyPageHtml } from './topology-html';
import type { Vm, VmSessions } from './vm-sessions';

export const TOPOLOGY_VIEW_TYPE = 'usernet.topology';

export class TopologyPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private panelDisposables: vscode.Disposable[] = [];
  private readonly totals = new Map<string, FlowTotals>();
  private readonly batcher: RefreshBatcher;
  private readonly subscription: vscode.Disposable;
  private model: TopologyModel | undefined;
  private modelVm: Vm | undefined;

  constructor(private readonly vms: VmSessions, private readonly extensionUri: vscode.Uri, private readonly log: Log, refreshIntervalMs = 250) {
    this.batcher = new RefreshBatcher(() => this.update(), refreshIntervalMs);
    this.subscription = vms.onDidChange(({ vm, what }) => {
      if (what === 'end') this.totals.delete(vm.id);
      // A session's traffic is counted until it closes: follow every change, panel open or not.
      else if (what === 'sessions') this.totalsOf(vm).update(vm.sessions, dnsAddresses(vm.topology), vm.closedSessions);
      if (this.panel) this.batcher.request();
    });
  }

  private totalsOf(vm: Vm): FlowTotals {
    let t = this.totals.get(vm.id);
    if (!t) this.totals.set(vm.id, (t = new FlowTotals()));
    return t;
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    // Beside the editor (the serial console, usually): type in one, watch the other move.
    const panel = vscode.window.createWebviewPanel(TOPOLOGY_VIEW_TYPE, 'Usernet Topology', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      localResourceRoots: [dist, media],
    });
    panel.iconPath = vscode.Uri.joinPath(media, 'topology.svg');
    panel.webview.html = topologyPageHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'topology.js')).toString(),
      cssUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(media, 'topology.css')).toString(),
      controlsCssUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(media, 'controls.css')).toString(),
    });
    this.panel = panel;
    this.panelDisposables = [
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidDispose(() => {
        for (const d of this.panelDisposables) d.dispose();
        this.panelDisposables = [];
        this.panel = undefined;
      }),
    ];
  }

  private update(): void {
    const vm = this.vms.current;
    if (!vm) {
      this.model = undefined;
      this.modelVm = undefined;
      return this.post({ type: 'empty', message: 'No VM is running: launch one (Usernet: Launch VM) to see its network.' });
    }
    this.model = buildTopology({
      name: vm.session.name,
      state: vm.state,
      topology: vm.topology,
      sessions: vm.sessions,
      forwards: vm.forwards,
      drops: vm.drops,
      conditions: vm.conditions,
    }, this.totalsOf(vm));
    this.modelVm = vm;
    this.post({ type: 'model', model: this.model });
  }

  private post(m: TopologyHostMessage): void {
    void this.panel?.webview.postMessage(m);
  }

  private receive(m: unknown): void {
    if (!isTopologyWebviewMessage(m)) {
      this.log.warn(`topology: dropping a malformed message from the page: ${describeRefused(m)}`);
      return;
    }
    void this.handle(m).catch((e: unknown) => {
      this.log.error(`topology: ${errorText(e)}`);
      void vscode.window.showErrorMessage(`Usernet: ${errorText(e)}`);
    });
  }

  private async handle(m: TopologyWebviewMessage): Promise<void> {
    if (m.type === 'ready') return this.update();
    if (m.type === 'export') return this.save(m.format, m.data);
    const part = this.model && partById(this.model, m.part);
    if (!part || !this.modelVm) return;
    await runPartAction(part, m.action, this.modelVm);
  }

  private async save(format: 'svg' | 'png', data: string): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: `Usernet: save the topology as ${format.toUpperCase()}`,
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `usernet-topology.${format}`) } : {}),
      filters: format === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
    });
    if (!target) return;
    const bytes = format === 'svg' ? Buffer.from(data, 'utf8') : Buffer.from(data.slice(data.indexOf(',') + 1), 'base64');
    await vscode.workspace.fs.writeFile(target, bytes);
    void vscode.window.showInformationMessage(`Usernet: topology saved to ${target.fsPath}.`);
  }

  dispose(): void {
    this.batcher.dispose();
    this.subscription.dispose();
    this.panel?.dispose();
  }
}

/** Runs one of a part's menu actions through the commands the other views use. */
async function runPartAction(part: TopologyPart | TopologyForward, action: PartAction, vm: Vm): Promise<void> {
  const t = part.targets;
  switch (action) {
    case 'capture':
      if (t.capture !== undefined) await vscode.commands.executeCommand('usernet.startCapture', { filter: t.capture });
      return;
    case 'break':
      if (!t.break) return;
      vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(t.break.stage, true, t.break.condition)]);
      void vscode.window.showInformationMessage(`Usernet: breakpoint on ${t.break.stage}${t.break.condition ? ` if ${t.break.condition}` : ''}`);
      return;
    case 'sessions':
      if (t.sessions !== undefined) await vscode.commands.executeCommand('usernet.sessions.filter', t.sessions);
      return;
    case 'conditions':
      if (t.conditions?.length) await vscode.commands.executeCommand('usernet.simulateConditions', { kind: 'places', title: part.title, places: t.conditions, vm });
  }
}

/**
 * The flow graph and TCP stream graph panels. `showFlow(title, source, view)`
 * opens one for any FlowSource (flow-source.ts): a live NAT session, polled
 * while the panel is visible, or packets held here (a capture's conversation).
 * The page (webview/flow) draws; this side reads the source, decodes a
 * clicked packet, runs the filter and saves exports.
 */
import * as vscode from 'vscode';
import { describeRefused } from '../../webview/shared/protocol';
import { isFlowWebviewMessage, type FlowHostMessage, type FlowViewKind, type FlowWebviewMessage } from '../../webview/shared/flow-protocol';
import { flowPageHtml } from './flow-html';
import type { FlowSource } from './flow-source';
import type { Log } from './log';

export const FLOW_VIEW_TYPE = 'usernet.flow';
/** How often a visible live view asks for new items. */
const POLL_MS = 300;
/**
 * How often a hidden live view tells the recorder it is still open (a read of
 * nothing): the recorder keeps a flow whole while it is read within
 * WATCHED_MS (debug/flow-recorder.ts), only its head and tail otherwise.
 */
const KEEP_WATCHING_MS = 2_000;
/** Items per message: a long flow arrives in pieces the page can take. */
const CHUNK = 5000;

class FlowPanel {
  private next = 0;
  /** Counts page loads: a read begun for an earlier page is thrown away (its items went nowhere). */
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The timer is for a visible panel (a poll) or a hidden one (a keep-watching read). */
  private timerVisible = false;
  /** Hidden, the flow was seen closed (or gone): no keep-watching reads are needed. */
  private idleWhileHidden = false;
  private reading = false;
  private done = false;
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly title: string,
    private readonly source: FlowSource,
    private readonly view: FlowViewKind,
    private readonly log: Log,
    private readonly onDispose: () => void,
  ) {
    panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m));
    panel.onDidChangeViewState(() => this.schedule());
    panel.onDidDispose(() => {
      this.disposed = true;
      if (this.timer) clearTimeout(this.timer);
      this.onDispose();
    });
  }

  private receive(m: unknown): void {
    if (!isFlowWebviewMessage(m)) {
      this.log.warn(`flow view: dropping malformed message from the webview: ${describeRefused(m)}`);
      return;
    }
    void this.handle(m).catch((e: unknown) => this.log.warn(`flow view: ${errorText(e)}`));
  }

  private async handle(m: FlowWebviewMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
        // A page loaded again (it was discarded while hidden) starts from nothing.
        this.next = 0;
        this.done = false;
        this.generation++;
        this.post({ type: 'init', view: this.view, title: this.title, endpoints: this.source.endpoints, live: this.source.live });
        return this.poll();
      case 'select':
        try {
          const d = await this.source.detail(m.n);
          this.post({ type: 'detail', n: m.n, fields: d.fields, ...(d.journey ? { journey: d.journey } : {}) });
        } catch (e) {
          this.post({ type: 'detail', n: m.n, fields: {}, error: errorText(e) });
        }
        return;
      case 'filter':
        if (m.text.trim() === '') return this.post({ type: 'filtered', text: m.text });
        try {
          this.post({ type: 'filtered', text: m.text, matches: await this.source.filter(m.text) });
        } catch (e) {
          this.post({ type: 'filtered', text: m.text, error: errorText(e) });
        }
        return;
      case 'export':
        return this.save(m.format, m.data);
    }
  }

  /** Reads what is new, then asks again in a while if the flow is live and the panel visible. */
  private async poll(): Promise<void> {
    if (this.reading || this.disposed) return;
    this.reading = true;
    const generation = this.generation;
    try {
      const snap = await this.source.read(this.next);
      if (generation === this.generation) {
        for (let i = 0; i < snap.items.length || i === 0; i += CHUNK) {
          this.post({ type: 'items', items: snap.items.slice(i, i + CHUNK), forgotten: snap.forgotten, closed: snap.closed, state: snap.state, host: snap.endpoints.host });
        }
        this.next = snap.next;
        this.done = snap.closed || !this.source.live;
      }
    } catch (e) {
      // The VM is gone or the session forgotten: what was shown stays.
      this.done = true;
      this.log.warn(`flow view: ${errorText(e)}`);
    } finally {
      this.reading = false;
    }
    if (generation !== this.generation) return this.poll();
    this.schedule();
  }

  private schedule(): void {
    const visible = this.panel.visible;
    if (this.done || this.disposed || (!visible && this.idleWhileHidden)) return;
    if (this.timer) {
      if (this.timerVisible === visible) return;
      clearTimeout(this.timer);
    }
    this.timerVisible = visible;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void (visible ? this.poll() : this.keepWatching());
    }, visible ? POLL_MS : KEEP_WATCHING_MS);
  }

  /** A read of nothing: the flow stays recorded whole while this view is hidden. */
  private async keepWatching(): Promise<void> {
    try {
      // Once the flow is over nothing more is recorded: the next poll, when visible, reads its end.
      this.idleWhileHidden = (await this.source.read(Number.MAX_SAFE_INTEGER)).closed;
    } catch {
      this.idleWhileHidden = true;
    }
    this.schedule();
  }

  private async save(format: 'svg' | 'png', data: string): Promise<void> {
    const name = `${this.title.replace(/[^\w.-]+/g, '_')}.${format}`;
    const base = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      ...(base ? { defaultUri: vscode.Uri.joinPath(base, name) } : {}),
      filters: format === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
    });
    if (!uri) return;
    const bytes = format === 'svg' ? Buffer.from(data, 'utf8') : Buffer.from(data, 'base64');
    await vscode.workspace.fs.writeFile(uri, bytes);
    void vscode.window.showInformationMessage(`Saved ${uri.fsPath}`);
  }

  post(m: FlowHostMessage): void {
    if (this.disposed) return;
    this.panel.webview.postMessage(m).then(undefined, (e: unknown) => this.log.warn(`flow view: postMessage failed: ${errorText(e)}`));
  }
}

export class FlowViews implements vscode.Disposable {
  /** The views of this activation, for `showFlow` callers that have no handle (the capture editor). */
  static current: FlowViews | undefined;
  private readonly panels = new Set<FlowPanel>();
  private readonly countChanged = new vscode.EventEmitter<void>();
  /** A panel opened or closed. */
  readonly onDidChangeCount = this.countChanged.event;
  private readonly disposables: vscode.Disposable[] = [this.countChanged];

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: Log) {
    FlowViews.current = this;
    this.disposables.push(vscode.window.onDidChangeActiveColorTheme(() => {
      for (const p of this.panels) p.post({ type: 'theme' });
    }));
  }

  /** Opens a flow graph (or TCP stream graph) of `source` in a new editor tab. */
  show(title: string, source: FlowSource, view: FlowViewKind = 'flow'): vscode.WebviewPanel {
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const panel = vscode.window.createWebviewPanel(FLOW_VIEW_TYPE, title, vscode.ViewColumn.Active, { enableScripts: true, localResourceRoots: [dist, media] });
    panel.iconPath = vscode.Uri.joinPath(media, 'sessions.svg');
    const webview = panel.webview;
    webview.html = flowPageHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'flow.js')).toString(),
      cssUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'flow.css')).toString(),
      controlsCssUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'controls.css')).toString(),
      title,
    });
    const p = new FlowPanel(panel, title, source, view, this.log, () => {
      this.panels.delete(p);
      this.countChanged.fire();
    });
    this.panels.add(p);
    this.countChanged.fire();
    return panel;
  }

  /** Open panels (for tests). */
  get count(): number {
    return this.panels.size;
  }

  dispose(): void {
    for (const p of this.panels) p.panel.dispose();
    for (const d of this.disposables) d.dispose();
    if (FlowViews.current === this) FlowViews.current = undefined;
  }
}

/**
 * Opens a flow view of `source` (flow-source.ts: liveFlowSource, framesFlowSource,
 * recordsFlowSource) with the extension's views; undefined before activation.
 */
export function showFlow(title: string, source: FlowSource, view: FlowViewKind = 'flow'): vscode.WebviewPanel | undefined {
  return FlowViews.current?.show(title, source, view);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The capture editor: .pcap and .pcapng files (ours and anyone's) open as a
 * packet list with the filter language, a decode and the bytes. The file is
 * read and decoded here, in the extension host (pipeline/capture-file); the
 * page only asks for the rows in view, a filter, a packet or a flow (which
 * opens in the flow view, as a NAT session's does).
 */
import * as vscode from 'vscode';
import { CaptureFileError, MAX_CAPTURE_FILE_BYTES, readCaptureFile } from '../pipeline/capture-file';
import { PacketList, type ConversationPackets } from '../pipeline/capture-file/packet-list';
import { FilterSyntaxError } from '../pipeline/filter';
import { isCaptureWebviewMessage, type CaptureHostMessage, type CaptureWebviewMessage } from '../../webview/shared/capture-protocol';
import { describeRefused } from '../../webview/shared/protocol';
import { capturePageHtml } from './capture-html';
import { showFlow } from './flow-panel';
import { framesFlowSource } from './flow-source';
import type { Log } from './log';

export const CAPTURE_VIEW_TYPE = 'usernet.capture';

class CaptureDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri, readonly list: PacketList | undefined, readonly failure: string | undefined) {}
  dispose(): void {}
}

const fileName = (uri: vscode.Uri) => uri.path.slice(uri.path.lastIndexOf('/') + 1);

export class CaptureEditorProvider implements vscode.CustomReadonlyEditorProvider<CaptureDocument> {
  static register(extensionUri: vscode.Uri, log: Log): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(CAPTURE_VIEW_TYPE, new CaptureEditorProvider(extensionUri, log), {
      supportsMultipleEditorsPerDocument: false,
    });
  }

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: Log) {}

  async openCustomDocument(uri: vscode.Uri): Promise<CaptureDocument> {
    try {
      const { size } = await vscode.workspace.fs.stat(uri);
      if (size > MAX_CAPTURE_FILE_BYTES) {
        return new CaptureDocument(uri, undefined, `${fileName(uri)} is ${Math.round(size / 2 ** 20)} MiB, more than the ${MAX_CAPTURE_FILE_BYTES / 2 ** 20} MiB this editor opens: open it in Wireshark, or cut it with editcap -c`);
      }
      const bytes = await vscode.workspace.fs.readFile(uri);
      return new CaptureDocument(uri, new PacketList(bytes, readCaptureFile(bytes)), undefined);
    } catch (e) {
      const why = e instanceof CaptureFileError ? e.message : `cannot read it: ${(e as Error).message}`;
      return new CaptureDocument(uri, undefined, `${fileName(uri)}: ${why}`);
    }
  }

  resolveCustomEditor(document: CaptureDocument, panel: vscode.WebviewPanel): void {
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const webview = panel.webview;
    webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    webview.html = capturePageHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'capture.js')).toString(),
      cssUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'capture.css')).toString(),
      controlsCssUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'controls.css')).toString(),
      title: fileName(document.uri),
    });
    const post = (m: CaptureHostMessage) => void webview.postMessage(m);
    const openFlow = (flow: ConversationPackets) => {
      const opened = showFlow(`Flow: ${flow.conversation.key} (${fileName(document.uri)})`, framesFlowSource(flow.frames));
      if (!opened) this.log.warn('capture editor: the flow view is not available');
    };
    const session = new CaptureSession(document, post, openFlow);
    const subscription = webview.onDidReceiveMessage((m: unknown) => {
      if (!isCaptureWebviewMessage(m)) {
        this.log.warn(`capture editor: refused a message from the page: ${describeRefused(m)}`);
        return;
      }
      session.receive(m);
    });
    panel.onDidDispose(() => subscription.dispose());
  }
}

/** One open editor's conversation with its page. */
export class CaptureSession {
  private generation = 0;

  constructor(
    private readonly document: { uri: { path: string }; list: PacketList | undefined; failure: string | undefined },
    private readonly post: (m: CaptureHostMessage) => void,
    /** Opens the flow view (ui/flow-panel.ts) on a conversation. */
    private readonly openFlow: (flow: ConversationPackets) => void,
  ) {}

  receive(m: CaptureWebviewMessage): void {
    const list = this.document.list;
    if (m.type === 'ready') return this.opened();
    if (!list) return;
    switch (m.type) {
      case 'rows':
        this.post({ type: 'rows', start: m.start, rows: list.rows(m.start, m.count), shown: list.shown, generation: this.generation });
        return;
      case 'filter':
        try {
          const shown = list.setFilter(m.text);
          this.generation++;
          this.post({ type: 'filtered', filter: list.filter, shown, generation: this.generation });
        } catch (e) {
          if (!(e instanceof FilterSyntaxError)) throw e;
          this.post({ type: 'filterError', filter: m.text, message: e.message, column: e.column });
        }
        return;
      case 'select': {
        const d = list.details(m.no);
        if (d) this.post({ type: 'details', no: d.no, tree: d.tree, comments: [...d.comments], bytes: Buffer.from(d.bytes).toString('base64'), ...(d.conversation ? { conversation: d.conversation } : {}) });
        return;
      }
      case 'showFlow': {
        const flow = list.conversation(m.no);
        if (flow) this.openFlow(flow);
        return;
      }
    }
  }

  private opened(): void {
    const { list, failure, uri } = this.document;
    if (!list) {
      this.post({ type: 'failed', message: failure ?? 'the file could not be read' });
      return;
    }
    const f = list.file;
    const skipped = Object.entries(f.skipped).map(([name, n]) => `${n} ${name} block${n === 1 ? '' : 's'}`).join(', ');
    this.post({
      type: 'opened', fileName: uri.path.slice(uri.path.lastIndexOf('/') + 1), format: f.format, total: list.total,
      interfaces: f.interfaces.map((i) => i.name || `interface ${i.id} (link type ${i.linkType})`),
      ...(f.problem ? { problem: `read ${list.total} packets, then stopped: ${f.problem.message}` } : {}),
      ...(skipped ? { skipped: `passed over ${skipped}` } : {}),
    });
    this.generation++;
    this.post({ type: 'filtered', filter: list.filter, shown: list.shown, generation: this.generation });
  }
}

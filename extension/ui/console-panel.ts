/**
 * Hosts the serial console of each VM: a ConsoleStream per VM that collects
 * output from boot on (whether or not a panel is open), and at most one
 * webview panel per VM that shows it. Input typed in the panel goes to the
 * adapter as `usernet.serialInput`.
 */
import * as vscode from 'vscode';
import { describeRefused, isWebviewMessage, type HostMessage, type WebviewMessage } from '../../webview/shared/protocol';
import { consolePageHtml } from './console-html';
import { CONSOLE_SETTINGS_SECTIONS, readConsoleSettings, type ConsoleSettings } from './console-settings';
import { ConsoleStream, DEFAULT_LIMITS, type ConsoleStreamLimits } from './console-stream';
import { LeaseHint } from './lease-hint';
import type { Log } from './log';
import type { Vm, VmSessions } from './vm-sessions';

export const CONSOLE_VIEW_TYPE = 'usernet.console';

class VmConsole implements vscode.Disposable {
  readonly stream: ConsoleStream;
  /** Says once how to get a lease when the guest waits at its prompt without one. */
  readonly leaseHint: LeaseHint;
  panel: vscode.WebviewPanel | undefined;
  private panelDisposables: vscode.Disposable[] = [];

  constructor(
    readonly vm: Vm,
    private readonly extensionUri: vscode.Uri,
    private readonly log: Log,
    limits: ConsoleStreamLimits,
    private readonly settings: () => Promise<ConsoleSettings>,
  ) {
    this.stream = new ConsoleStream((m) => this.post(m), limits);
    this.leaseHint = new LeaseHint((hint, line) => {
      this.stream.note(hint);
      this.stream.write(line); // the prompt again, as the guest left it
    });
  }

  /** Sends the font and key settings (on load and when the user changes them). */
  settingsChanged(): void {
    if (!this.panel) return;
    this.settings().then((m) => this.post(m), (e: unknown) => this.log.warn(`console: settings: ${errorText(e)}`));
  }

  show(preserveFocus: boolean, beside = false): void {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      CONSOLE_VIEW_TYPE,
      `Serial: ${this.vm.session.name}`,
      { viewColumn: beside ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, preserveFocus },
      // No retainContextWhenHidden: a hidden console is discarded and, when
      // shown again, replayed from the scrollback (cheaper than keeping it).
      { enableScripts: true, localResourceRoots: [this.dist, this.media] },
    );
    panel.iconPath = vscode.Uri.joinPath(this.media, 'console.svg');
    this.adopt(panel);
  }

  /** Shows this VM in `panel` (new, or the tab of an ended VM of the same name): a fresh page. */
  adopt(panel: vscode.WebviewPanel): void {
    panel.title = `Serial: ${this.vm.session.name}`;
    const webview = panel.webview;
    const { dist, media } = this;
    webview.html = consolePageHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'console.js')).toString(),
      xtermCssUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'console.css')).toString(),
      consoleCssUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'console.css')).toString(),
      title: `Serial console of ${this.vm.session.name}`,
    });
    this.panel = panel;
    this.panelDisposables = [
      webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidDispose(() => this.closed()),
    ];
  }

  /** Tells a live page to re-read the theme's colours. */
  themeChanged(): void {
    this.post({ type: 'theme' });
  }

  stateChanged(): void {
    const s = this.vm.state;
    if (s) this.post({ type: 'state', state: s.state, message: s.message });
  }

  private receive(m: unknown): void {
    if (!isWebviewMessage(m)) {
      this.log.warn(`console: dropping malformed message from the webview: ${describeRefused(m)}`);
      return;
    }
    this.handle(m);
  }

  private handle(m: WebviewMessage): void {
    switch (m.type) {
      case 'ready':
        this.settingsChanged();
        this.stream.attach();
        this.stateChanged();
        return;
      case 'ack':
        this.stream.ack(m.id);
        return;
      case 'input':
        this.vm.session.customRequest('usernet.serialInput', { data: m.data }).then(undefined, (e: unknown) => {
          this.log.error(`console: serial input was refused: ${errorText(e)}`);
        });
        return;
      case 'copy':
        void vscode.env.clipboard.writeText(m.text);
        return;
      case 'resize':
        return; // a serial line has no window size to tell the guest
    }
  }

  private post(m: HostMessage): void {
    const panel = this.panel;
    if (!panel) return;
    panel.webview.postMessage(m).then((delivered) => {
      // A page that is being discarded drops messages; the next 'ready' replays them.
      if (!delivered && m.type === 'output') this.stream.detach();
    }, (e: unknown) => this.log.warn(`console: postMessage failed: ${errorText(e)}`));
  }

  private closed(): void {
    for (const d of this.panelDisposables) d.dispose();
    this.panelDisposables = [];
    this.panel = undefined;
    this.stream.detach();
  }

  /** The VM has ended: its tab says so until it is closed or a VM of the same name takes it. */
  markEnded(): void {
    if (this.panel) this.panel.title = `Serial: ${this.vm.session.name} (ended)`;
  }

  /** Lets go of the panel without closing it (another console adopts it). */
  releasePanel(): vscode.WebviewPanel | undefined {
    const panel = this.panel;
    this.closed();
    return panel;
  }

  private get media(): vscode.Uri {
    return vscode.Uri.joinPath(this.extensionUri, 'media');
  }

  private get dist(): vscode.Uri {
    return vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
  }

  dispose(): void {
    this.leaseHint.dispose();
    this.panel?.dispose();
  }
}

export class ConsolePanels implements vscode.Disposable {
  private readonly consoles = new Map<string, VmConsole>();
  /** The consoles of ended VMs whose tab is still open, by session name: a restart reuses the tab. */
  private readonly ended = new Map<string, VmConsole>();
  private readonly disposables: vscode.Disposable[] = [];
  /** The next VM's console opens beside the active editor (the walkthrough's launch). */
  private nextBeside = false;

  constructor(
    private readonly vms: VmSessions,
    private readonly extensionUri: vscode.Uri,
    private readonly log: Log,
    private readonly limits: ConsoleStreamLimits = DEFAULT_LIMITS,
    /** The extension's global storage: the user's keybindings.json is two folders up. */
    private readonly globalStorageUri?: vscode.Uri,
  ) {
    this.disposables.push(
      vms.onSerialOutput(({ vm, bytes, missedChunks }) => {
        const c = this.consoleFor(vm);
        if (missedChunks) c.stream.note(`${missedChunks} chunk(s) of serial output never arrived`);
        c.stream.write(bytes);
        c.leaseHint.output(bytes);
      }),
      vms.onDidChange(({ vm, what }) => {
        if (what === 'start') this.started(vm);
        else if (what === 'state') this.vmStateChanged(vm);
        else if (what === 'end') this.vmEnded(vm);
      }),
      vscode.window.onDidChangeActiveColorTheme(() => {
        for (const c of this.consoles.values()) c.themeChanged();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!CONSOLE_SETTINGS_SECTIONS.some((s) => e.affectsConfiguration(s))) return;
        for (const c of this.consoles.values()) c.settingsChanged();
      }),
    );
  }

  /** Shows the VM's console, creating its panel if needed (beside the active editor if asked). */
  open(vm: Vm, preserveFocus = false, beside = false): void {
    this.consoleFor(vm).show(preserveFocus, beside);
  }

  /** The console of the next VM to start opens beside the active editor instead of over it. */
  openNextBeside(): void {
    this.nextBeside = true;
  }

  /** The panel of a VM, if open (for tests and commands). */
  panelOf(vm: Vm): vscode.WebviewPanel | undefined {
    return this.consoles.get(vm.id)?.panel;
  }

  streamOf(vm: Vm): ConsoleStream | undefined {
    return this.consoles.get(vm.id)?.stream;
  }

  private consoleFor(vm: Vm): VmConsole {
    let c = this.consoles.get(vm.id);
    if (!c) {
      c = new VmConsole(vm, this.extensionUri, this.log, this.limits, () => readConsoleSettings(this.globalStorageUri, this.log));
      this.consoles.set(vm.id, c);
    }
    return c;
  }

  private started(vm: Vm): void {
    const stale = this.ended.get(vm.session.name);
    this.ended.delete(vm.session.name);
    const panel = stale?.releasePanel();
    if (panel) this.consoleFor(vm).adopt(panel);
    this.open(vm, true, this.nextBeside);
    this.nextBeside = false;
  }

  private vmStateChanged(vm: Vm): void {
    const c = this.consoles.get(vm.id);
    if (!c) return;
    c.stateChanged();
    c.leaseHint.state(vm.state?.state === 'running', Boolean(vm.state?.guestAddress));
  }

  private vmEnded(vm: Vm): void {
    const c = this.consoles.get(vm.id);
    if (!c) return;
    c.leaseHint.dispose();
    // The panel stays open to read what the guest printed last; it no longer takes input.
    c.stream.note('the VM has stopped');
    c.stateChanged();
    c.markEnded();
    this.consoles.delete(vm.id);
    if (!c.panel) return c.dispose();
    this.ended.get(vm.session.name)?.dispose(); // one stale tab per name
    this.ended.set(vm.session.name, c);
  }

  dispose(): void {
    for (const c of [...this.consoles.values(), ...this.ended.values()]) c.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

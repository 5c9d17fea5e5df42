/**
 * A small, faithful stand-in for the parts of the `vscode` API that
 * extension/ui/ uses, so the UI code runs under node:test. Behaviour follows
 * VS Code where the UI depends on it (breakpoint add/remove fires
 * onDidChangeBreakpoints, a disposed panel fires onDidDispose, postMessage
 * resolves to whether the page received it). Tests drive it through `fake`.
 * Installed as 'vscode' by test/support/use-vscode-fake.ts.
 */

type Listener<T> = (e: T) => unknown;
type Tracker = { onDidSendMessage?(m: unknown): void };
type TrackerFactory = { createDebugAdapterTracker(session: unknown): Tracker | undefined };

export class Disposable {
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  constructor(private readonly onDispose: () => unknown) {}
  dispose(): void {
    this.onDispose();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return new Disposable(() => this.listeners.delete(listener));
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class Uri {
  private constructor(readonly scheme: string, readonly path: string) {}
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  static parse(text: string): Uri {
    const m = /^([a-z-]+):\/\/(.*)$/.exec(text);
    return m ? new Uri(m[1]!, m[2]!) : new Uri('file', text);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.path.replace(/\/$/, ''), ...parts].join('/'));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export enum TreeItemCollapsibleState { None = 0, Collapsed = 1, Expanded = 2 }
export enum TreeItemCheckboxState { Unchecked = 0, Checked = 1 }
export enum StatusBarAlignment { Left = 1, Right = 2 }
export enum ViewColumn { Active = -1, Beside = -2, One = 1 }
export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }
export enum QuickPickItemKind { Separator = -1, Default = 0 }
export enum DebugConfigurationProviderTriggerKind { Initial = 1, Dynamic = 2 }

export class ThemeIcon {
  constructor(readonly id: string) {}
}
export class ThemeColor {
  constructor(readonly id: string) {}
}
export class MarkdownString {
  value = '';
  appendMarkdown(text: string): this {
    this.value += text;
    return this;
  }
}

export class TreeItem {
  id?: string;
  description?: string | boolean;
  tooltip?: string | MarkdownString;
  contextValue?: string;
  iconPath?: unknown;
  checkboxState?: TreeItemCheckboxState | { state: TreeItemCheckboxState; tooltip?: string };
  constructor(public label: string, public collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None) {}
}

let breakpointIds = 0;
export class Breakpoint {
  readonly id = `bp${++breakpointIds}`;
  constructor(readonly enabled = true, readonly condition?: string, readonly hitCondition?: string, readonly logMessage?: string) {}
}
export class FunctionBreakpoint extends Breakpoint {
  constructor(readonly functionName: string, enabled?: boolean, condition?: string, hitCondition?: string, logMessage?: string) {
    super(enabled ?? true, condition, hitCondition, logMessage);
  }
}

export class DebugAdapterExecutable {
  constructor(readonly command: string, readonly args: string[] = [], readonly options?: { env?: Record<string, string>; cwd?: string }) {}
}

/** A debug session whose custom requests are recorded and answered by `handler`. */
export class FakeDebugSession {
  private static count = 0;
  readonly id = `session-${++FakeDebugSession.count}`;
  readonly requests: { command: string; args: unknown }[] = [];
  handler: (command: string, args: unknown) => unknown = () => undefined;
  workspaceFolder = undefined;
  constructor(
    readonly name = 'Usernet VM',
    readonly type = 'usernet',
    readonly configuration: Record<string, unknown> = { type: 'usernet', request: 'launch', name: 'Usernet VM' },
  ) {}
  async customRequest(command: string, args?: unknown): Promise<unknown> {
    this.requests.push({ command, args });
    return this.handler(command, args);
  }
}

export class FakeWebview {
  html = '';
  readonly cspSource = 'https://webview.test';
  readonly posted: unknown[] = [];
  /** Whether postMessage reaches the page (false: hidden without retained context). */
  live = true;
  readonly received = new EventEmitter<unknown>();
  readonly onDidReceiveMessage = this.received.event;
  constructor(readonly options: Record<string, unknown>) {}
  asWebviewUri(uri: Uri): Uri {
    return Uri.parse(`https://webview.test/${uri.path.replace(/^\//, '')}`);
  }
  async postMessage(message: unknown): Promise<boolean> {
    if (!this.live) return false;
    this.posted.push(message);
    return true;
  }
  /** The page sends a message to the extension. */
  send(message: unknown): void {
    this.received.fire(message);
  }
}

export class FakeWebviewPanel {
  readonly webview: FakeWebview;
  iconPath: unknown;
  disposed = false;
  visible = true;
  reveals = 0;
  private readonly disposeEmitter = new EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;
  private readonly viewStateEmitter = new EventEmitter<{ webviewPanel: FakeWebviewPanel }>();
  readonly onDidChangeViewState = this.viewStateEmitter.event;
  constructor(readonly viewType: string, public title: string, readonly showOptions: unknown, readonly options: Record<string, unknown>) {
    this.webview = new FakeWebview(options);
  }
  /** The user hides the tab (another in front) or shows it again. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.viewStateEmitter.fire({ webviewPanel: this });
  }
  reveal(): void {
    this.reveals++;
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeEmitter.fire();
  }
}

export class FakeTreeView<T> {
  description?: string;
  message?: string;
  readonly checkboxEmitter = new EventEmitter<{ items: [T, TreeItemCheckboxState][] }>();
  readonly onDidChangeCheckboxState = this.checkboxEmitter.event;
  constructor(readonly id: string, readonly options: { treeDataProvider: unknown; manageCheckboxStateManually?: boolean }) {}
  dispose(): void {}
}

export class FakeStatusBarItem {
  text = '';
  tooltip?: string;
  name?: string;
  command?: string;
  backgroundColor?: ThemeColor;
  shown = false;
  constructor(readonly id: string) {}
  show(): void {
    this.shown = true;
  }
  hide(): void {
    this.shown = false;
  }
  dispose(): void {
    this.shown = false;
  }
}

/**
 * window.createInputBox: on show() the user types the next of fake.inputAnswers
 * (undefined: closes the box), presses Enter and at once clicks elsewhere, so
 * the box hides right after accepting, as a real one does on losing focus.
 */
export class FakeInputBox {
  title?: string;
  prompt?: string;
  placeholder?: string;
  valueSelection?: readonly [number, number];
  validationMessage?: string;
  value = '';
  /** The validation messages shown, in order (undefined: none). */
  readonly shownMessages: (string | undefined)[] = [];
  visible = false;
  private readonly changeEmitter = new EventEmitter<string>();
  private readonly acceptEmitter = new EventEmitter<void>();
  private readonly hideEmitter = new EventEmitter<void>();
  readonly onDidChangeValue = this.changeEmitter.event;
  readonly onDidAccept = this.acceptEmitter.event;
  readonly onDidHide = this.hideEmitter.event;
  show(): void {
    this.visible = true;
    fake.inputBoxes.push(this);
    const answer = fake.inputAnswers.shift();
    queueMicrotask(() => {
      if (answer !== undefined) {
        this.value = answer;
        this.changeEmitter.fire(answer);
        this.acceptEmitter.fire();
        this.shownMessages.push(this.validationMessage);
      }
      this.hide();
    });
  }
  hide(): void {
    if (!this.visible) return;
    this.visible = false;
    this.hideEmitter.fire();
  }
  dispose(): void {
    this.visible = false;
  }
}

/** An open text document: what the editor holds, saved or not. */
export class FakeTextDocument {
  saves = 0;
  isDirty = false;
  constructor(readonly uri: Uri, readonly languageId: string, private text = '') {}
  get fileName(): string {
    return this.uri.fsPath;
  }
  get isUntitled(): boolean {
    return this.uri.scheme === 'untitled';
  }
  getText(): string {
    return this.text;
  }
  /** The user types: the document now differs from the file. */
  edit(text: string): void {
    this.text = text;
    this.isDirty = true;
  }
  async save(): Promise<boolean> {
    if (this.isUntitled) return false;
    this.saves++;
    this.isDirty = false;
    return true;
  }
}

type Message = { level: 'error' | 'warning' | 'info'; text: string; items: string[] };

/** The state of the fake and the levers a test pulls. */
export const fake = {
  breakpoints: [] as Breakpoint[],
  breakpointChanges: new EventEmitter<{ added: Breakpoint[]; removed: Breakpoint[]; changed: Breakpoint[] }>(),
  sessionStarted: new EventEmitter<FakeDebugSession>(),
  sessionEnded: new EventEmitter<FakeDebugSession>(),
  activeSessionChanged: new EventEmitter<FakeDebugSession | undefined>(),
  customEvent: new EventEmitter<{ session: FakeDebugSession; event: string; body: unknown }>(),
  colorTheme: new EventEmitter<unknown>(),
  /** Fired with the changed setting keys, e.g. ['terminal.integrated.fontSize']. */
  configurationChanged: new EventEmitter<{ affectsConfiguration(section: string): boolean }>(),
  activeSession: undefined as FakeDebugSession | undefined,
  panels: [] as FakeWebviewPanel[],
  treeViews: [] as FakeTreeView<unknown>[],
  statusItems: [] as FakeStatusBarItem[],
  messages: [] as Message[],
  /** What the next showInputBox / showQuickPick / message button returns. */
  inputAnswers: [] as (string | undefined)[],
  /** Every input box shown (window.createInputBox). */
  inputBoxes: [] as FakeInputBox[],
  messageAnswer: undefined as string | undefined,
  /** Notifications stay open until `closeMessages()` (else each closes at once with messageAnswer). */
  holdMessages: false,
  openMessages: [] as (() => void)[],
  /** The user closes every open notification. */
  closeMessages(): void {
    for (const close of this.openMessages.splice(0)) close();
  },
  clipboard: '',
  context: new Map<string, unknown>(),
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  started: [] as unknown[],
  stopped: [] as unknown[],
  progress: [] as { title?: string; done: boolean }[],
  /** Every startDebugging call with all its arguments (`started` keeps the configurations alone). */
  debugStarts: [] as { folder: unknown; config: unknown; options: unknown }[],
  /** Documents the editor holds (workspace.textDocuments); openTextDocument(uri) finds them here. */
  documents: [] as FakeTextDocument[],
  documentOpened: new EventEmitter<FakeTextDocument>(),
  activeEditor: undefined as { document: FakeTextDocument } | undefined,
  /** Settings by full key, e.g. 'usernet.profileEngine'. */
  settings: new Map<string, unknown>(),
  /** Debug adapter tracker factories by debug type; `adapterSends` feeds their trackers. */
  trackerFactories: [] as { type: string; factory: TrackerFactory; trackers: Map<FakeDebugSession, Tracker | undefined> }[],

  /** The adapter of `session` sends a DAP message: each factory's tracker of that session (one per session, as in VS Code) sees it. */
  adapterSends(session: FakeDebugSession, message: unknown): void {
    for (const { type, factory, trackers } of this.trackerFactories) {
      if (type !== session.type) continue;
      if (!trackers.has(session)) trackers.set(session, factory.createDebugAdapterTracker(session));
      trackers.get(session)?.onDidSendMessage?.(message);
    }
  },

  /** The user opens a document (it fires onDidOpenTextDocument) and, unless told otherwise, shows it. */
  openDocument(doc: FakeTextDocument, show = true): FakeTextDocument {
    this.documents.push(doc);
    this.documentOpened.fire(doc);
    if (show) this.activeEditor = { document: doc };
    return doc;
  },

  startSession(session: FakeDebugSession): FakeDebugSession {
    this.activeSession = session;
    this.sessionStarted.fire(session);
    this.activeSessionChanged.fire(session);
    return session;
  },
  endSession(session: FakeDebugSession): void {
    if (this.activeSession === session) this.activeSession = undefined;
    this.sessionEnded.fire(session);
  },
  event(session: FakeDebugSession, event: string, body: unknown): void {
    this.customEvent.fire({ session, event, body });
  },
  /** A fresh extension host: no state, and nobody left listening from an earlier test. */
  reset(): void {
    for (const e of [this.breakpointChanges, this.sessionStarted, this.sessionEnded, this.activeSessionChanged, this.customEvent, this.colorTheme, this.documentOpened, this.configurationChanged]) e.dispose();
    this.breakpoints = [];
    this.activeSession = undefined;
    this.panels = [];
    this.treeViews = [];
    this.statusItems = [];
    this.messages = [];
    this.inputAnswers = [];
    this.inputBoxes = [];
    this.messageAnswer = undefined;
    this.holdMessages = false;
    this.openMessages = [];
    this.clipboard = '';
    this.context.clear();
    this.commands.clear();
    this.started = [];
    this.stopped = [];
    this.progress = [];
    this.debugStarts = [];
    this.documents = [];
    this.activeEditor = undefined;
    this.settings.clear();
    this.trackerFactories = [];
  },
};

const message = (level: Message['level']) => async (text: string, ...items: unknown[]): Promise<string | undefined> => {
  const labels = items.filter((i): i is string => typeof i === 'string');
  fake.messages.push({ level, text, items: labels });
  // A held notification stays open (its promise pending) until the user closes it.
  if (fake.holdMessages) await new Promise<void>((closed) => fake.openMessages.push(closed));
  return fake.messageAnswer !== undefined && labels.includes(fake.messageAnswer) ? fake.messageAnswer : undefined;
};

export const debug = {
  get breakpoints(): readonly Breakpoint[] {
    return fake.breakpoints;
  },
  get activeDebugSession(): FakeDebugSession | undefined {
    return fake.activeSession;
  },
  addBreakpoints(bps: Breakpoint[]): void {
    fake.breakpoints = [...fake.breakpoints, ...bps];
    fake.breakpointChanges.fire({ added: bps, removed: [], changed: [] });
  },
  removeBreakpoints(bps: Breakpoint[]): void {
    const ids = new Set(bps.map((b) => b.id));
    const removed = fake.breakpoints.filter((b) => ids.has(b.id));
    fake.breakpoints = fake.breakpoints.filter((b) => !ids.has(b.id));
    fake.breakpointChanges.fire({ added: [], removed, changed: [] });
  },
  onDidChangeBreakpoints: fake.breakpointChanges.event,
  onDidStartDebugSession: fake.sessionStarted.event,
  onDidTerminateDebugSession: fake.sessionEnded.event,
  onDidChangeActiveDebugSession: fake.activeSessionChanged.event,
  onDidReceiveDebugSessionCustomEvent: fake.customEvent.event,
  async startDebugging(folder: unknown, config: unknown, options?: unknown): Promise<boolean> {
    fake.started.push(config);
    fake.debugStarts.push({ folder, config, options });
    return true;
  },
  async stopDebugging(session?: FakeDebugSession): Promise<void> {
    fake.stopped.push(session);
  },
  registerDebugAdapterDescriptorFactory: () => new Disposable(() => undefined),
  registerDebugConfigurationProvider: () => new Disposable(() => undefined),
  registerDebugAdapterTrackerFactory(type: string, factory: TrackerFactory): Disposable {
    fake.trackerFactories.push({ type, factory, trackers: new Map() });
    return new Disposable(() => {
      fake.trackerFactories = fake.trackerFactories.filter((f) => f.factory !== factory);
    });
  },
};

export const window = {
  createWebviewPanel(viewType: string, title: string, showOptions: unknown, options: Record<string, unknown> = {}): FakeWebviewPanel {
    const panel = new FakeWebviewPanel(viewType, title, showOptions, options);
    fake.panels.push(panel);
    return panel;
  },
  createTreeView<T>(id: string, options: { treeDataProvider: unknown; manageCheckboxStateManually?: boolean }): FakeTreeView<T> {
    const view = new FakeTreeView<T>(id, options);
    fake.treeViews.push(view as FakeTreeView<unknown>);
    return view;
  },
  createStatusBarItem(id: string): FakeStatusBarItem {
    const item = new FakeStatusBarItem(id);
    fake.statusItems.push(item);
    return item;
  },
  createOutputChannel(): unknown {
    const lines: string[] = [];
    const add = (l: string) => lines.push(l);
    return { lines, info: add, warn: add, error: add, appendLine: add, dispose: () => undefined };
  },
  showErrorMessage: message('error'),
  showWarningMessage: message('warning'),
  showInformationMessage: message('info'),
  async showInputBox(options?: { validateInput?: (v: string) => unknown }): Promise<string | undefined> {
    const answer = fake.inputAnswers.shift();
    if (answer !== undefined && options?.validateInput && (await options.validateInput(answer))) return undefined;
    return answer;
  },
  createInputBox(): FakeInputBox {
    return new FakeInputBox();
  },
  async showQuickPick<T extends { label: string }>(items: T[]): Promise<T | undefined> {
    const answer = fake.inputAnswers.shift();
    return items.find((i) => i.label === answer);
  },
  async showSaveDialog(options?: { defaultUri?: Uri }): Promise<Uri | undefined> {
    return options?.defaultUri;
  },
  async withProgress<R>(options: { title?: string }, task: (p: unknown, token: unknown) => Promise<R>): Promise<R> {
    const entry = { title: options.title, done: false };
    fake.progress.push(entry);
    const token = { isCancellationRequested: false, onCancellationRequested: () => new Disposable(() => undefined) };
    try {
      return await task({ report: () => undefined }, token);
    } finally {
      entry.done = true;
    }
  },
  onDidChangeActiveColorTheme: fake.colorTheme.event,
  get activeTextEditor(): { document: FakeTextDocument } | undefined {
    return fake.activeEditor;
  },
};

export const commands = {
  registerCommand(id: string, fn: (...args: unknown[]) => unknown): Disposable {
    fake.commands.set(id, fn);
    return new Disposable(() => fake.commands.delete(id));
  },
  async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    if (id === 'setContext') {
      fake.context.set(args[0] as string, args[1]);
      return undefined;
    }
    const fn = fake.commands.get(id);
    return fn ? fn(...args) : undefined;
  },
};

export const env = {
  /** Set for a remote window (e.g. 'ssh-remote'); undefined when local. */
  remoteName: undefined as string | undefined,
  clipboard: {
    async readText(): Promise<string> {
      return fake.clipboard;
    },
    async writeText(text: string): Promise<void> {
      fake.clipboard = text;
    },
  },
};

export const workspace = {
  workspaceFolders: undefined as { uri: Uri; name: string; index: number }[] | undefined,
  async openTextDocument(options: { content: string } | Uri): Promise<unknown> {
    if (!(options instanceof Uri)) return { getText: () => options.content };
    const doc = fake.documents.find((d) => d.uri.toString() === options.toString());
    // VS Code's own wording when the file cannot be read.
    if (!doc) throw new Error(`cannot open ${options.toString()}. Detail: Unable to read file '${options.fsPath}' (Error: Unable to resolve nonexistent file '${options.fsPath}')`);
    return doc;
  },
  get textDocuments(): readonly FakeTextDocument[] {
    return fake.documents;
  },
  onDidOpenTextDocument: fake.documentOpened.event,
  onDidChangeConfiguration: fake.configurationChanged.event,
  getWorkspaceFolder(uri: Uri): { uri: Uri; name: string; index: number } | undefined {
    return workspace.workspaceFolders?.find((f) => uri.scheme === f.uri.scheme && (uri.path + '/').startsWith(f.uri.path.replace(/\/$/, '') + '/'));
  },
  getConfiguration(section?: string): { get<T>(key: string, defaultValue?: T): T | undefined } {
    return {
      get: <T>(key: string, defaultValue?: T) => {
        const full = section ? `${section}.${key}` : key;
        return fake.settings.has(full) ? (fake.settings.get(full) as T) : defaultValue;
      },
    };
  },
};

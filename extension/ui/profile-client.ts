/**
 * The language client for `.qemu` launch profiles. The server (diagnostics,
 * completion, hover, Launch / Debug lenses) is dist/profile-server.js, run in
 * a Node process of its own over IPC so a slow parse never stalls the editor.
 * It starts the first time a profile is open, not at every activation: a
 * debug session alone needs no language server.
 */
import * as vscode from 'vscode';
import type * as languageClient from 'vscode-languageclient/node';
import type { LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import type { Log } from './log';
import { PROFILE_LANGUAGE, profileEngineSetting } from './profile-language';

/**
 * What this file takes from vscode-languageclient/node. Handed in by main.ts
 * rather than imported, because the library needs the whole real `vscode`
 * module as soon as it loads, and the unit tests run against a small fake.
 */
export type LanguageClientLibrary = Pick<typeof languageClient, 'LanguageClient' | 'TransportKind'>;
type Client = languageClient.LanguageClient;

export const PROFILE_CLIENT_ID = 'usernet.profile';
export const PROFILE_CLIENT_NAME = 'Usernet QEMU Profiles';

export function profileServerOptions(extensionUri: vscode.Uri, lib: LanguageClientLibrary): ServerOptions {
  const module = vscode.Uri.joinPath(extensionUri, 'dist', 'profile-server.js').fsPath;
  // No runtime given: the client forks the editor's own Node (ELECTRON_RUN_AS_NODE), as for the debug adapter.
  const run = { module, transport: lib.TransportKind.ipc };
  return { run, debug: run };
}

export function profileClientOptions(): LanguageClientOptions {
  return {
    documentSelector: [{ language: PROFILE_LANGUAGE }],
    // The server also pulls `usernet.profileEngine` itself; this is its value before the first pull.
    initializationOptions: { profileEngine: profileEngineSetting() },
    synchronize: { configurationSection: 'usernet' },
  };
}

export class ProfileLanguageClient implements vscode.Disposable {
  private client: Client | undefined;
  private starting: Promise<void> | undefined;
  private readonly watch: vscode.Disposable;

  constructor(private readonly extensionUri: vscode.Uri, private readonly lib: LanguageClientLibrary, private readonly log: Log) {
    this.watch = vscode.workspace.onDidOpenTextDocument((doc) => this.startFor(doc));
    vscode.workspace.textDocuments.forEach((doc) => this.startFor(doc));
  }

  /** Whether the server has been asked to start. */
  get started(): boolean {
    return this.client !== undefined;
  }

  /** Resolves once the server answered `initialize` (or failed to start, which is logged, not thrown). */
  get ready(): Promise<void> {
    return this.starting ?? Promise.resolve();
  }

  private startFor(doc: vscode.TextDocument): void {
    if (doc.languageId !== PROFILE_LANGUAGE || this.client) return;
    const client = new this.lib.LanguageClient(PROFILE_CLIENT_ID, PROFILE_CLIENT_NAME, profileServerOptions(this.extensionUri, this.lib), profileClientOptions());
    this.client = client;
    this.log.info(`starting the QEMU profile language server for ${doc.uri.toString()}`);
    this.starting = client.start().catch((e: unknown) => {
      // The editor still works without it; the reason goes where the user looks for it.
      const reason = e instanceof Error ? e.message : String(e);
      this.log.error(`the QEMU profile language server did not start: ${reason}`);
      void vscode.window.showErrorMessage(`Usernet: the .qemu profile checker did not start: ${reason}. Profiles can still be launched; see the "Usernet" output for details.`);
    });
  }

  /** Stops the server process for good; VS Code waits for this on deactivate. */
  async stop(): Promise<void> {
    this.watch.dispose();
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    await this.starting;
    try {
      if (client.isRunning()) await client.stop();
    } catch (e) {
      this.log.warn(`stopping the QEMU profile language server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  dispose(): void {
    void this.stop();
  }
}

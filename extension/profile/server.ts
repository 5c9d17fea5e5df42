/**
 * The language server for `.qemu` profiles: diagnostics while typing, completion
 * of options, suboptions and values, hover documentation, and Launch / Debug
 * code lenses. The engine diagnostics assume comes from a `# usernet: engine=...`
 * comment, else the `usernet.profileEngine` setting, else embedded.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodeLens, CompletionItem, CompletionItemKind, Diagnostic, DidChangeConfigurationNotification, Hover, MarkupKind,
  TextDocuments, TextDocumentSyncKind, type Connection, type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { diagnose } from './diagnostics';
import { completeProfile, type CompletionEntry } from './completion';
import { hoverProfile } from './hover';
import { lexProfile } from './lexer';
import { findEngineDirective } from './engine-directive';
import type { EngineKind } from '../pipeline/stages';

import { LAUNCH_COMMAND, DEBUG_COMMAND } from './server-commands';

export { LAUNCH_COMMAND, DEBUG_COMMAND };

export interface ProfileServerOptions {
  /** Overrides the file system check (tests). */
  readonly fileExists?: (path: string) => boolean;
}

const isEngine = (value: unknown): value is EngineKind => value === 'embedded' || value === 'qemu';

export function startProfileServer(connection: Connection, options: ProfileServerOptions = {}): void {
  const documents = new TextDocuments(TextDocument);
  const fileExists = options.fileExists ?? existsSync;
  let settingEngine: EngineKind = 'embedded';
  let canPullConfiguration = false;

  const engineFor = (text: string): EngineKind => findEngineDirective(lexProfile(text))?.engine ?? settingEngine;

  const validate = (document: TextDocument): void => {
    const text = document.getText();
    let baseDir: string | undefined;
    if (document.uri.startsWith('file:')) {
      try {
        baseDir = dirname(fileURLToPath(document.uri));
      } catch {
        baseDir = undefined;
      }
    }
    let diagnostics: Diagnostic[];
    try {
      diagnostics = diagnose(text, { engine: engineFor(text), fileExists, baseDir, homeDir: homedir() });
    } catch (error) {
      // A bug here must not take the editor's diagnostics down with it.
      connection.console.error(`usernet profile diagnostics failed: ${(error as Error).stack ?? error}`);
      diagnostics = [];
    }
    void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics });
  };

  const refreshSettings = async (pushed?: unknown): Promise<void> => {
    let engine: unknown;
    if (canPullConfiguration) {
      try {
        engine = await connection.workspace.getConfiguration({ section: 'usernet.profileEngine' });
      } catch {
        engine = undefined;
      }
    } else {
      engine = (pushed as { usernet?: { profileEngine?: unknown } } | undefined)?.usernet?.profileEngine;
    }
    if (isEngine(engine)) settingEngine = engine;
  };

  connection.onInitialize((params): InitializeResult => {
    const init = params.initializationOptions as { profileEngine?: unknown } | undefined;
    if (isEngine(init?.profileEngine)) settingEngine = init.profileEngine;
    canPullConfiguration = params.capabilities.workspace?.configuration === true;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        completionProvider: { triggerCharacters: ['-', ',', '='] },
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
      },
      serverInfo: { name: 'usernet-profile' },
    };
  });

  connection.onInitialized(() => {
    if (!canPullConfiguration) return;
    void connection.client.register(DidChangeConfigurationNotification.type, { section: 'usernet' }).catch(() => undefined);
    void refreshSettings().then(() => documents.all().forEach(validate));
  });

  connection.onDidChangeConfiguration(async (change) => {
    await refreshSettings(change.settings);
    documents.all().forEach(validate);
  });

  // Fired on open as well as on every change.
  documents.onDidChangeContent((event) => validate(event.document));
  documents.onDidClose((event) => void connection.sendDiagnostics({ uri: event.document.uri, diagnostics: [] }));

  connection.onCompletion((params): CompletionItem[] => {
    const document = documents.get(params.textDocument.uri);
    if (!document) return [];
    const offset = document.offsetAt(params.position);
    return completeProfile(document.getText(), offset).map((entry, i) => toCompletionItem(document, entry, i));
  });

  connection.onHover((params): Hover | null => {
    const document = documents.get(params.textDocument.uri);
    if (!document) return null;
    const info = hoverProfile(document.getText(), document.offsetAt(params.position));
    if (!info) return null;
    return {
      contents: { kind: MarkupKind.Markdown, value: info.contents },
      range: { start: document.positionAt(info.start), end: document.positionAt(info.end) },
    };
  });

  connection.onCodeLens((params): CodeLens[] => {
    const document = documents.get(params.textDocument.uri);
    if (!document) return [];
    const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    return [
      { range, command: { title: '$(play) Launch', command: LAUNCH_COMMAND, arguments: [document.uri] } },
      { range, command: { title: '$(debug-alt) Debug', command: DEBUG_COMMAND, arguments: [document.uri] } },
    ];
  });

  documents.listen(connection);
  connection.listen();
}

const KIND: Record<CompletionEntry['kind'], CompletionItemKind> = {
  option: CompletionItemKind.Keyword,
  suboption: CompletionItemKind.Property,
  value: CompletionItemKind.EnumMember,
};

function toCompletionItem(document: TextDocument, entry: CompletionEntry, index: number): CompletionItem {
  return {
    label: entry.label,
    kind: KIND[entry.kind],
    detail: entry.detail,
    documentation: entry.documentation ? { kind: MarkupKind.Markdown, value: entry.documentation } : undefined,
    // Keep the catalog's order (common options first) rather than the alphabet.
    sortText: String(index).padStart(4, '0'),
    textEdit: {
      range: { start: document.positionAt(entry.replaceStart), end: document.positionAt(entry.replaceEnd) },
      newText: entry.insertText,
    },
    // A suboption ends in `=`: ask for its values right away.
    ...(entry.kind === 'suboption' ? { command: { title: 'values', command: 'editor.action.triggerSuggest' } } : {}),
  };
}

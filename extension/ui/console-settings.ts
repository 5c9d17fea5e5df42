/**
 * What the serial console takes from the user's setup, as VS Code's own
 * terminal does: the terminal.integrated.* font, the keys VS Code keeps
 * (its defaults plus every key the user bound in keybindings.json) and the
 * `usernet.console.sendKeysToGuest` exceptions.
 *
 * VS Code has no API for the keybindings: the user's keybindings.json is
 * read from the user data folder, two levels above the extension's global
 * storage. A file that cannot be read or parsed leaves the defaults.
 */
import * as vscode from 'vscode';
import { parse, type ParseError } from 'jsonc-parser';
import { keysForVsCode, normalizeChord } from '../../webview/console/key-routing';
import type { ConsoleFont, HostMessage } from '../../webview/shared/protocol';
import type { Log } from './log';

export type ConsoleSettings = Extract<HostMessage, { type: 'settings' }>;

/** The settings that change what the console shows or which keys it keeps. */
export const CONSOLE_SETTINGS_SECTIONS = ['terminal.integrated', 'editor.fontFamily', 'usernet.console'] as const;

type Get = <T>(section: string, key: string) => T | undefined;

/** The first key of each binding in keybindings.json text (removals, `-command`, are not bindings). */
export function boundKeys(text: string): string[] {
  const errors: ParseError[] = [];
  const list: unknown = parse(text, errors, { allowTrailingComma: true });
  if (!Array.isArray(list)) return [];
  const keys: string[] = [];
  for (const b of list) {
    if (typeof b !== 'object' || b === null) continue;
    const { key, command } = b as { key?: unknown; command?: unknown };
    if (typeof key !== 'string' || typeof command !== 'string' || command.startsWith('-')) continue;
    const chord = normalizeChord(key);
    if (chord) keys.push(chord);
  }
  return keys;
}

const positive = (v: unknown, max: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= max ? v : undefined);

/** terminal.integrated.fontFamily, else the editor's; size, line height, letter spacing and ligatures as set. */
export function consoleFont(get: Get): ConsoleFont {
  const family = get<string>('terminal.integrated', 'fontFamily')?.trim() || get<string>('editor', 'fontFamily')?.trim();
  const size = positive(get('terminal.integrated', 'fontSize'), 200);
  const lineHeight = positive(get('terminal.integrated', 'lineHeight'), 5);
  const spacing = get<number>('terminal.integrated', 'letterSpacing');
  // 1.97 made it an object setting ({ enabled }); older versions had a boolean.
  const lig = get<unknown>('terminal.integrated', 'fontLigatures.enabled') ?? get<unknown>('terminal.integrated', 'fontLigatures');
  return {
    ...(family ? { family } : {}),
    ...(size ? { size } : {}),
    ...(lineHeight && lineHeight >= 0.5 ? { lineHeight } : {}),
    ...(typeof spacing === 'number' && Number.isFinite(spacing) && Math.abs(spacing) <= 20 ? { letterSpacing: spacing } : {}),
    ...(typeof lig === 'boolean' ? { ligatures: lig } : {}),
  };
}

export function consoleSettings(get: Get, userBound: readonly string[]): ConsoleSettings {
  const raw = get<unknown>('usernet.console', 'sendKeysToGuest');
  const toGuest = (Array.isArray(raw) ? raw : []).filter((k): k is string => typeof k === 'string');
  const keysForGuest = toGuest.map(normalizeChord).filter((k): k is string => k !== undefined);
  return { type: 'settings', keysForVsCode: keysForVsCode(userBound, keysForGuest), keysForGuest, font: consoleFont(get) };
}

/** The user's keybindings.json next to globalStorage/<extension>. */
export function userKeybindingsUri(globalStorageUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(globalStorageUri, '..', '..', 'keybindings.json');
}

export async function readConsoleSettings(globalStorageUri: vscode.Uri | undefined, log: Log): Promise<ConsoleSettings> {
  let userBound: string[] = [];
  if (globalStorageUri) {
    const uri = userKeybindingsUri(globalStorageUri);
    try {
      userBound = boundKeys(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)));
    } catch (e) {
      // No keybindings.json is the common case: the user bound nothing.
      if ((e as { code?: unknown }).code !== 'FileNotFound') log.warn(`console: cannot read ${uri.toString()}: ${e instanceof Error ? e.message : e}`);
    }
  }
  const get: Get = (section, key) => vscode.workspace.getConfiguration(section).get(key);
  return consoleSettings(get, userBound);
}

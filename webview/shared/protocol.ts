/**
 * The one message protocol between the extension host (extension/ui/console-panel.ts)
 * and the serial console webview (webview/console/main.ts). Both sides check
 * every message they receive with these guards: a message that does not fit is
 * dropped (and logged), never half-understood. Byte payloads travel as base64
 * so that a message is plain JSON on every VS Code host.
 */

/** Extension host -> webview. */
export type HostMessage =
  /**
   * Guest output. `id` numbers chunks; the webview acks each with its byte count
   * after xterm has written it. `replay` marks output the page already showed
   * once: the terminal's answers to queries in it (cursor position reports)
   * were given back then and must not reach the guest again.
   */
  | { type: 'output'; id: number; data: string /* base64 */; replay?: boolean }
  /** Forget the screen: a replay of the scrollback follows. */
  | { type: 'reset' }
  /** Re-read the theme's CSS variables (the colour theme changed). */
  | { type: 'theme' }
  /** The VM's state, shown in the console's status line. */
  | { type: 'state'; state: string; message?: string }
  /** Which keys VS Code keeps and the terminal font, from the user's settings and key bindings. */
  | { type: 'settings'; keysForVsCode: string[]; keysForGuest: string[]; font: ConsoleFont };

/** The terminal.integrated.* font settings, as xterm takes them. */
export interface ConsoleFont {
  family?: string;
  size?: number;
  lineHeight?: number;
  letterSpacing?: number;
  ligatures?: boolean;
}

/** Webview -> extension host. */
export type WebviewMessage =
  /** The page is loaded (first time, or again after being discarded while hidden): send the scrollback. */
  | { type: 'ready'; cols: number; rows: number }
  /** Keyboard input (and pastes) for the guest's serial port. */
  | { type: 'input'; data: string /* base64 */ }
  /** The bytes of output chunk `id` are on screen. */
  | { type: 'ack'; id: number; bytes: number }
  | { type: 'resize'; cols: number; rows: number }
  /** Text the user copied (Ctrl+C with a selection): the host writes it to the clipboard. */
  | { type: 'copy'; text: string };

export const MAX_OUTPUT_CHUNK_BASE64 = 256 * 1024;
export const MAX_INPUT_BASE64 = 64 * 1024;
export const MAX_COPY_TEXT = 4 * 1024 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBase64 = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max && v.length % 4 === 0 && BASE64.test(v);
const isDimension = (v: unknown): v is number => isCount(v) && v > 0 && v <= 10_000;

export function isHostMessage(v: unknown): v is HostMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'output':
      return isCount(v.id) && isBase64(v.data, MAX_OUTPUT_CHUNK_BASE64) && (v.replay === undefined || typeof v.replay === 'boolean');
    case 'reset':
    case 'theme':
      return true;
    case 'state':
      return typeof v.state === 'string' && v.state.length <= 32 && (v.message === undefined || typeof v.message === 'string');
    case 'settings':
      return isKeyList(v.keysForVsCode) && isKeyList(v.keysForGuest) && isFont(v.font);
    default:
      return false;
  }
}

const MAX_KEYS = 1000;
const isKeyList = (v: unknown): v is string[] => Array.isArray(v) && v.length <= MAX_KEYS && v.every((k) => typeof k === 'string' && k.length <= 64);
const isOptional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);
const isIn = (min: number, max: number) => (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;

function isFont(v: unknown): v is ConsoleFont {
  return isObject(v)
    && isOptional(v.family, (f) => typeof f === 'string' && f.length <= 1000)
    && isOptional(v.size, isIn(1, 200))
    && isOptional(v.lineHeight, isIn(0.5, 5))
    && isOptional(v.letterSpacing, isIn(-20, 20))
    && isOptional(v.ligatures, (l) => typeof l === 'boolean');
}

export function isWebviewMessage(v: unknown): v is WebviewMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready':
    case 'resize':
      return isDimension(v.cols) && isDimension(v.rows);
    case 'input':
      return isBase64(v.data, MAX_INPUT_BASE64) && v.data.length > 0;
    case 'ack':
      return isCount(v.id) && isCount(v.bytes);
    case 'copy':
      return typeof v.text === 'string' && v.text.length <= MAX_COPY_TEXT;
    default:
      return false;
  }
}

/** A short description of a refused message for the log (never the whole payload). */
export function describeRefused(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

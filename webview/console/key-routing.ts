/**
 * Which keys pressed in the serial console belong to VS Code rather than to
 * the guest, the way the integrated terminal decides with
 * `terminal.integrated.commandsToSkipShell`: the palette, Quick Open, the
 * debug keys and the keys the user bound go to VS Code; everything else is
 * the guest's. A key that goes to VS Code is simply not handled by xterm, so
 * the keydown reaches the webview's host, which runs VS Code's binding.
 *
 * Keys are written as in keybindings.json ("ctrl+shift+p", "shift+f5",
 * "ctrl+`"); both sides (this page and the extension host, which reads the
 * user's bindings and settings) normalise them with `normalizeChord`.
 */

/** What VS Code's terminal leaves to the workbench by default, for the keys a debugging user reaches for. */
export const DEFAULT_KEYS_FOR_VSCODE: readonly string[] = [
  'f1', 'ctrl+p', 'ctrl+shift+p', 'ctrl+shift+e', 'ctrl+shift+d', 'ctrl+shift+x', 'ctrl+shift+f', 'ctrl+shift+g',
  'f5', 'shift+f5', 'ctrl+f5', 'ctrl+shift+f5', 'f6', 'f9', 'f10', 'f11', 'shift+f11', 'ctrl+f10',
  'ctrl+`', 'ctrl+shift+`', 'ctrl+k', 'ctrl+tab', 'ctrl+shift+tab', 'ctrl+pageup', 'ctrl+pagedown',
  'ctrl+1', 'ctrl+2', 'ctrl+3', 'ctrl+\\', 'ctrl+,',
];

/** Ctrl+Shift+C/V are the terminal's copy and paste (keys.ts), not VS Code's. */
const CLIPBOARD = new Set(['ctrl+shift+c', 'ctrl+shift+v']);

const MODIFIER_ORDER = ['ctrl', 'shift', 'alt', 'meta'] as const;
const MODIFIER_ALIASES: Readonly<Record<string, (typeof MODIFIER_ORDER)[number]>> = {
  ctrl: 'ctrl', control: 'ctrl', shift: 'shift', alt: 'alt', option: 'alt', meta: 'meta', cmd: 'meta', win: 'meta', super: 'meta',
};

/** KeyboardEvent.code -> the key's name in keybindings.json (US layout, as VS Code's defaults are written). */
const CODE_NAMES: Readonly<Record<string, string>> = {
  Backquote: '`', Minus: '-', Equal: '=', BracketLeft: '[', BracketRight: ']', Backslash: '\\', Semicolon: ';', Quote: "'",
  Comma: ',', Period: '.', Slash: '/', Escape: 'escape', Enter: 'enter', Tab: 'tab', Space: 'space', Backspace: 'backspace',
  Delete: 'delete', Insert: 'insert', Home: 'home', End: 'end', PageUp: 'pageup', PageDown: 'pagedown',
  ArrowUp: 'up', ArrowDown: 'down', ArrowLeft: 'left', ArrowRight: 'right',
};

export interface KeyLike {
  readonly type: string;
  readonly key: string;
  readonly code: string;
  readonly ctrlKey: boolean;
  readonly shiftKey: boolean;
  readonly altKey: boolean;
  readonly metaKey: boolean;
}

/**
 * "Shift+Ctrl+P" -> "ctrl+shift+p": modifiers in one order, names lower case;
 * for a chord sequence ("ctrl+k ctrl+s") its first chord, the one that reaches
 * the console. Undefined for text that is not a key.
 */
export function normalizeChord(text: string): string | undefined {
  const first = text.trim().toLowerCase().split(/\s+/)[0];
  if (!first) return undefined;
  // "ctrl++" is Ctrl and the plus key.
  const parts = first.endsWith('++') ? [...first.slice(0, -2).split('+'), '+'] : first.split('+');
  const key = parts.pop();
  if (!key) return undefined;
  const mods = new Set<string>();
  for (const p of parts) {
    const m = MODIFIER_ALIASES[p];
    if (!m) return undefined;
    mods.add(m);
  }
  return [...MODIFIER_ORDER.filter((m) => mods.has(m)), key].join('+');
}

/** The chord of a keydown, in normalizeChord's form; undefined for a lone modifier. */
export function chordOf(e: KeyLike): string | undefined {
  let key: string | undefined;
  if (/^Key[A-Z]$/.test(e.code)) key = e.code.slice(3).toLowerCase();
  else if (/^Digit\d$/.test(e.code)) key = e.code.slice(5);
  else if (/^F\d{1,2}$/.test(e.code)) key = e.code.toLowerCase();
  else key = CODE_NAMES[e.code];
  if (!key) return undefined;
  const mods = [e.ctrlKey && 'ctrl', e.shiftKey && 'shift', e.altKey && 'alt', e.metaKey && 'meta'].filter(Boolean);
  return [...mods, key].join('+');
}

/** The set of chords VS Code keeps: the defaults and the user's bindings, minus those sent to the guest. */
export function keysForVsCode(userBound: readonly string[], sendToGuest: readonly string[]): string[] {
  const guest = new Set(sendToGuest.map(normalizeChord).filter((k): k is string => k !== undefined));
  const keys = new Set<string>();
  for (const k of [...DEFAULT_KEYS_FOR_VSCODE, ...userBound]) {
    const n = normalizeChord(k);
    if (n && !guest.has(n) && !CLIPBOARD.has(n)) keys.add(n);
  }
  return [...keys].sort();
}

/**
 * True when the key is VS Code's. Besides the listed chords, Ctrl+Shift with a
 * letter is VS Code's unless sent to the guest: a terminal cannot tell it from
 * Ctrl alone, so the guest loses nothing.
 */
export function isVsCodeKey(e: KeyLike, forVsCode: ReadonlySet<string>, sendToGuest: ReadonlySet<string> = new Set()): boolean {
  if (e.type !== 'keydown') return false;
  const chord = chordOf(e);
  if (!chord || sendToGuest.has(chord)) return false;
  if (forVsCode.has(chord)) return true;
  return /^ctrl\+shift\+[a-z]$/.test(chord) && !CLIPBOARD.has(chord);
}

/**
 * The serial console page: xterm.js fed by the extension host through the
 * messages of webview/shared/protocol.ts. Every output chunk is acknowledged
 * once xterm has written it, which is what paces the host's sending.
 */
import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { base64ToBytes, bytesToBase64 } from '../shared/base64';
import { describeRefused, isHostMessage, type ConsoleFont, type HostMessage, type WebviewMessage } from '../shared/protocol';
import { DEFAULT_KEYS_FOR_VSCODE, isVsCodeKey } from './key-routing';
import { clipboardKeyHandler } from './keys';
import { stampStyleNonces } from './nonce-styles';
import { fontFromVariables, themeFromVariables } from './theme';

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** Largest input message, in bytes before base64 (the host refuses more than 64 KiB of base64). */
const INPUT_CHUNK = 32 * 1024;

const vscode = acquireVsCodeApi();
const post = (m: WebviewMessage) => vscode.postMessage(m);

stampStyleNonces(document, (document.currentScript as HTMLScriptElement | null)?.nonce ?? '');

const cssVariable = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name);
const term = new Terminal({
  scrollback: 10_000,
  cursorBlink: true,
  theme: themeFromVariables(cssVariable),
  ...fontFromVariables(cssVariable),
});
const fit = new FitAddon();
term.loadAddon(fit);

const container = document.getElementById('terminal')!;
const status = document.getElementById('status')!;
term.open(container);
safeFit();

/** Until the host's settings arrive, the defaults of key-routing.ts apply. */
let keysForVsCode: ReadonlySet<string> = new Set(DEFAULT_KEYS_FOR_VSCODE);
let keysForGuest: ReadonlySet<string> = new Set();
/** The user's terminal font; until it arrives (and for what it leaves unset) the editor's. */
let userFont: ConsoleFont = {};

const clipboardKeys = clipboardKeyHandler({
  hasSelection: () => term.hasSelection(),
  copySelection: () => {
    post({ type: 'copy', text: term.getSelection() });
    term.clearSelection();
  },
});
// false = xterm leaves the key alone: a VS Code key then bubbles up to the workbench, which runs its binding.
term.attachCustomKeyEventHandler((e) => clipboardKeys(e) && !isVsCodeKey(e, keysForVsCode, keysForGuest));

const encoder = new TextEncoder();
/**
 * Replayed output may hold queries (ESC[6n and the like) that xterm answers
 * through onData while it parses them; the guest had its answers the first
 * time. While a replayed chunk is being written, nothing goes to the guest.
 */
let replaying = 0;
const sendInput = (bytes: Uint8Array) => {
  if (replaying > 0) return;
  for (let i = 0; i < bytes.length; i += INPUT_CHUNK) {
    post({ type: 'input', data: bytesToBase64(bytes.subarray(i, i + INPUT_CHUNK)) });
  }
};
term.onData((data) => sendInput(encoder.encode(data)));
// Mouse reports in X10 mode are bytes, not UTF-8 text.
term.onBinary((data) => sendInput(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const m = event.data;
  if (!isHostMessage(m)) {
    console.warn(`usernet console: dropping malformed message ${describeRefused(m)}`);
    return;
  }
  handle(m);
});

function handle(m: HostMessage): void {
  switch (m.type) {
    case 'output': {
      const bytes = base64ToBytes(m.data);
      if (m.replay) replaying++;
      term.write(bytes, () => {
        if (m.replay) replaying--;
        post({ type: 'ack', id: m.id, bytes: bytes.length });
      });
      return;
    }
    case 'reset':
      term.reset();
      return;
    case 'theme':
      applyTheme();
      return;
    case 'state':
      showState(m.state, m.message);
      return;
    case 'settings':
      keysForVsCode = new Set(m.keysForVsCode);
      keysForGuest = new Set(m.keysForGuest);
      userFont = m.font;
      applyTheme();
      return;
  }
}

function showState(state: string, message?: string): void {
  document.body.dataset.vmState = state;
  status.textContent = state === 'running' ? '' : `VM ${state}${message ? `: ${message}` : ''}`;
}

function applyTheme(): void {
  term.options.theme = themeFromVariables(cssVariable);
  const editor = fontFromVariables(cssVariable);
  const wanted = {
    fontFamily: userFont.family ?? editor.fontFamily,
    fontSize: userFont.size ?? editor.fontSize,
    lineHeight: userFont.lineHeight,
    letterSpacing: userFont.letterSpacing,
  };
  for (const [k, v] of Object.entries(wanted) as [keyof typeof wanted, string | number | undefined][]) {
    if (v !== undefined && v !== term.options[k]) (term.options as Record<string, unknown>)[k] = v;
  }
  // The DOM renderer draws runs of text, so the browser's own ligatures apply when the font has them.
  container.style.fontVariantLigatures = userFont.ligatures ? 'normal' : 'none';
  safeFit();
}

// VS Code swaps the body's theme class and rewrites <html>'s variables when the theme changes.
new MutationObserver(() => applyTheme()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
new MutationObserver(() => applyTheme()).observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });

function safeFit(): void {
  try {
    fit.fit();
  } catch {
    // Not laid out yet (a hidden page has no size): the next resize fits.
  }
}

let lastSize = '';
new ResizeObserver(() => {
  safeFit();
  const size = `${term.cols}x${term.rows}`;
  if (size === lastSize) return;
  lastSize = size;
  post({ type: 'resize', cols: term.cols, rows: term.rows });
}).observe(container);

term.focus();
post({ type: 'ready', cols: term.cols, rows: term.rows });

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHostMessage, isWebviewMessage, MAX_INPUT_BASE64 } from '../../../webview/shared/protocol';
import { clipboardKeyHandler } from '../../../webview/console/keys';
import { fontFromVariables, themeFromVariables } from '../../../webview/console/theme';

test('host messages: only the four kinds, well formed', () => {
  assert.ok(isHostMessage({ type: 'output', id: 1, data: 'aGk=' }));
  assert.ok(isHostMessage({ type: 'reset' }));
  assert.ok(isHostMessage({ type: 'state', state: 'failed', message: 'why' }));
  for (const bad of [null, [], 'output', { type: 'output', id: 1, data: 'a' }, { type: 'output', id: -1, data: '' },
    { type: 'output', id: 1.5, data: '' }, { type: 'state', state: 3 }, { type: 'html', html: '<b>' }]) {
    assert.equal(isHostMessage(bad), false, JSON.stringify(bad));
  }
});

test('settings messages: key lists of strings and a font with sane numbers', () => {
  const ok = { type: 'settings', keysForVsCode: ['f1', 'ctrl+p'], keysForGuest: [], font: { family: 'monospace', size: 14, lineHeight: 1.2, ligatures: false } };
  assert.ok(isHostMessage(ok));
  for (const bad of [{ ...ok, keysForVsCode: 'f1' }, { ...ok, keysForGuest: [1] }, { ...ok, font: { size: 0 } }, { ...ok, font: { lineHeight: 50 } },
    { ...ok, font: null }, { ...ok, keysForVsCode: Array(2000).fill('f1') }]) {
    assert.equal(isHostMessage(bad), false, JSON.stringify(bad).slice(0, 100));
  }
});

test('webview messages: bounded input, sane sizes, known kinds', () => {
  assert.ok(isWebviewMessage({ type: 'ready', cols: 80, rows: 24 }));
  assert.ok(isWebviewMessage({ type: 'input', data: 'bHMNCg==' }));
  assert.ok(isWebviewMessage({ type: 'ack', id: 3, bytes: 100 }));
  assert.ok(isWebviewMessage({ type: 'copy', text: 'x' }));
  for (const bad of [{ type: 'input', data: '' }, { type: 'input', data: 'A'.repeat(MAX_INPUT_BASE64 + 4) }, { type: 'ready', cols: 0, rows: 24 },
    { type: 'resize', cols: 1e9, rows: 1 }, { type: 'ack', id: 'x', bytes: 1 }, { type: 'copy' }, { type: 'input', data: 'ls\r\n' }]) {
    assert.equal(isWebviewMessage(bad), false, JSON.stringify(bad).slice(0, 80));
  }
});

test('Ctrl+C copies only with a selection; Ctrl+V is left to the browser', () => {
  let selection = false;
  let copies = 0;
  const handle = clipboardKeyHandler({ hasSelection: () => selection, copySelection: () => copies++ });
  const key = (k: string, extra: Partial<KeyboardEvent> = {}) => handle({ type: 'keydown', key: k, ctrlKey: true, metaKey: false, altKey: false, shiftKey: false, ...extra } as KeyboardEvent);
  assert.equal(key('c'), true, '^C goes to the guest');
  selection = true;
  assert.equal(key('c'), false);
  assert.equal(copies, 1);
  assert.equal(key('v'), false);
  assert.equal(key('a'), true);
  assert.equal(handle({ type: 'keyup', key: 'c', ctrlKey: true } as KeyboardEvent), true);
});

test('theme colours come from the terminal variables, falling back to the editor', () => {
  const vars: Record<string, string> = {
    '--vscode-editor-background': '#111111', '--vscode-terminal-foreground': '#eeeeee', '--vscode-editor-foreground': '#cccccc',
    '--vscode-terminal-ansiBrightRed': '#ff0000', '--vscode-editor-font-family': 'monospace', '--vscode-editor-font-size': '13px',
  };
  const get = (n: string) => vars[n] ?? '';
  const theme = themeFromVariables(get);
  assert.equal(theme.background, '#111111');
  assert.equal(theme.foreground, '#eeeeee');
  assert.equal(theme.brightRed, '#ff0000');
  assert.equal('red' in theme, false, 'unknown colours keep xterm defaults');
  assert.deepEqual(fontFromVariables(get), { fontFamily: 'monospace', fontSize: 13 });
});

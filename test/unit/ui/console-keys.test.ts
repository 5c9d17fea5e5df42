import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chordOf, isVsCodeKey, keysForVsCode, normalizeChord, type KeyLike } from '../../../webview/console/key-routing';
import { boundKeys, consoleFont, consoleSettings } from '../../../extension/ui/console-settings';

const key = (code: string, mods: Partial<KeyLike> = {}): KeyLike => ({
  type: 'keydown', key: '', code, ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, ...mods,
});
const defaults = new Set(keysForVsCode([], []));

test('chords are written as in keybindings.json, modifiers in one order', () => {
  assert.equal(normalizeChord('Shift+Ctrl+P'), 'ctrl+shift+p');
  assert.equal(normalizeChord('cmd+k cmd+s'), 'meta+k', 'a sequence is routed by its first chord');
  assert.equal(normalizeChord('ctrl++'), 'ctrl++');
  assert.equal(normalizeChord('hyper+x'), undefined, 'an unknown modifier is not a key');
  assert.equal(normalizeChord('  '), undefined);
  assert.equal(chordOf(key('KeyP', { ctrlKey: true, shiftKey: true })), 'ctrl+shift+p');
  assert.equal(chordOf(key('F5', { shiftKey: true })), 'shift+f5');
  assert.equal(chordOf(key('Backquote', { ctrlKey: true, shiftKey: true })), 'ctrl+shift+`');
  assert.equal(chordOf(key('ShiftLeft', { shiftKey: true })), undefined, 'a lone modifier is no chord');
});

test("VS Code's keys go to VS Code; typing, Ctrl+C/D and arrows stay with the guest", () => {
  for (const [code, mods] of [['F1', {}], ['KeyP', { ctrlKey: true }], ['KeyP', { ctrlKey: true, shiftKey: true }], ['F5', {}], ['F5', { shiftKey: true }],
    ['F6', {}], ['F9', {}], ['F10', {}], ['F11', {}], ['Backquote', { ctrlKey: true, shiftKey: true }], ['KeyO', { ctrlKey: true, shiftKey: true }]] as const) {
    assert.equal(isVsCodeKey(key(code, mods), defaults), true, `${code} ${JSON.stringify(mods)}`);
  }
  for (const [code, mods] of [['KeyA', {}], ['KeyC', { ctrlKey: true }], ['KeyD', { ctrlKey: true }], ['KeyR', { ctrlKey: true }], ['ArrowUp', {}], ['Tab', {}],
    ['Enter', {}], ['F2', {}], ['KeyC', { ctrlKey: true, shiftKey: true }], ['KeyV', { ctrlKey: true, shiftKey: true }]] as const) {
    assert.equal(isVsCodeKey(key(code, mods), defaults), false, `${code} ${JSON.stringify(mods)}`);
  }
  assert.equal(isVsCodeKey({ ...key('F1'), type: 'keyup' }, defaults), false, 'only the keydown decides');
});

test("a key the user bound goes to VS Code; one listed in sendKeysToGuest goes to the guest", () => {
  const withUser = new Set(keysForVsCode(['alt+x'], ['ctrl+p']));
  assert.equal(isVsCodeKey(key('KeyX', { altKey: true }), withUser), true);
  assert.equal(isVsCodeKey(key('KeyP', { ctrlKey: true }), withUser), false, 'Ctrl+P is the shell history again');
  assert.equal(isVsCodeKey(key('KeyO', { ctrlKey: true, shiftKey: true }), withUser, new Set(['ctrl+shift+o'])), false);
});

test("keybindings.json: comments and trailing commas are fine, removals and junk are not bindings", () => {
  const text = `// user bindings
  [
    { "key": "ctrl+alt+t", "command": "workbench.action.terminal.new" }, /* a block comment */
    { "key": "ctrl+k ctrl+t", "command": "workbench.action.selectTheme" },
    { "key": "f2", "command": "-editor.action.rename" },
    { "key": 7, "command": "x" },
    "nonsense",
  ]`;
  assert.deepEqual(boundKeys(text), ['ctrl+alt+t', 'ctrl+k']);
  assert.deepEqual(boundKeys('{ not a list'), []);
  assert.deepEqual(boundKeys(''), []);
});

test('the font follows terminal.integrated.*, else the editor family; out-of-range values are left out', () => {
  const settings = new Map<string, unknown>([
    ['editor.fontFamily', 'Droid Sans Mono'], ['terminal.integrated.fontSize', 15], ['terminal.integrated.lineHeight', 1.2],
    ['terminal.integrated.letterSpacing', 1], ['terminal.integrated.fontLigatures.enabled', true],
  ]);
  const get = <T>(section: string, k: string) => settings.get(`${section}.${k}`) as T | undefined;
  assert.deepEqual(consoleFont(get), { family: 'Droid Sans Mono', size: 15, lineHeight: 1.2, letterSpacing: 1, ligatures: true });
  settings.set('terminal.integrated.fontFamily', 'Fira Code');
  settings.set('terminal.integrated.fontSize', -3);
  settings.set('terminal.integrated.lineHeight', 99);
  assert.deepEqual(consoleFont(get), { family: 'Fira Code', letterSpacing: 1, ligatures: true });
  settings.set('usernet.console.sendKeysToGuest', ['Ctrl+P', 42]);
  const m = consoleSettings(get, []);
  assert.deepEqual(m.keysForGuest, ['ctrl+p']);
  assert.ok(!m.keysForVsCode.includes('ctrl+p') && m.keysForVsCode.includes('f1'));
});

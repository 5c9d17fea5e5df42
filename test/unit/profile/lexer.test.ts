import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lexProfile, wordSliceRange } from '../../../extension/profile/lexer';

const values = (text: string) => lexProfile(text).words.map((w) => w.value);

test('splits on blanks and newlines, keeping each word\'s exact range', () => {
  const lex = lexProfile('qemu-system-x86_64  -m\t512\n-nographic');
  assert.deepEqual(lex.words.map((w) => [w.value, w.start, w.end]), [
    ['qemu-system-x86_64', 0, 18], ['-m', 20, 22], ['512', 23, 26], ['-nographic', 27, 37],
  ]);
  assert.deepEqual(lex.words[3].range, { start: { line: 1, character: 0 }, end: { line: 1, character: 10 } });
  assert.deepEqual(lex.errors, []);
});

test('backslash-newline continues a line, even inside a word and inside double quotes', () => {
  assert.deepEqual(values('qemu \\\n  -m 1G \\\r\n -nographic'), ['qemu', '-m', '1G', '-nographic']);
  assert.deepEqual(values('-ap\\\npend "a\\\nb"'), ['-append', 'ab']);
});

test('comments start only at a word start and run to the end of the line', () => {
  const lex = lexProfile('# usernet: engine=qemu\nqemu -m 1G # memory\n-name a#b');
  assert.deepEqual(lex.words.map((w) => w.value), ['qemu', '-m', '1G', '-name', 'a#b']);
  assert.deepEqual(lex.comments.map((c) => c.text), [' usernet: engine=qemu', ' memory']);
  assert.deepEqual(lex.comments[1].range, { start: { line: 1, character: 11 }, end: { line: 1, character: 19 } });
});

test('single quotes are literal; double quotes honour \\ before $ ` " \\ only', () => {
  assert.deepEqual(values(`'a b\\n' "c \\"d\\" \\n \\\\" e\\ f`), ['a b\\n', 'c "d" \\n \\', 'e f']);
  assert.deepEqual(values(`-append 'console=ttyS0 root=/dev/vda1'`), ['-append', 'console=ttyS0 root=/dev/vda1']);
  assert.deepEqual(values(`''`), ['']);
});

test('each value character maps to its source offset across quotes', () => {
  const text = `-netdev 'user,'"id=n0,"hostfwd=tcp::22-:22`;
  const lex = lexProfile(text);
  const word = lex.words[1];
  assert.equal(word.value, 'user,id=n0,hostfwd=tcp::22-:22');
  const at = word.value.indexOf('hostfwd');
  const range = wordSliceRange(word, lex.lines, at, at + 'hostfwd'.length);
  assert.equal(text.slice(range.start.character, range.end.character), 'hostfwd');
  const id = word.value.indexOf('n0');
  const idRange = wordSliceRange(word, lex.lines, id, id + 2);
  assert.equal(text.slice(idRange.start.character, idRange.end.character), 'n0');
});

test('an unterminated quote is an error at the opening quote', () => {
  const lex = lexProfile(`qemu -append "console=ttyS0\n-m 1G`);
  assert.equal(lex.errors.length, 1);
  assert.equal(lex.errors[0].code, 'unterminated-quote');
  assert.deepEqual(lex.errors[0].range, { start: { line: 0, character: 13 }, end: { line: 0, character: 14 } });
  const single = lexProfile(`-name 'vm`);
  assert.deepEqual([single.errors[0].code, single.errors[0].start, single.errors[0].end], ['unterminated-quote', 6, 7]);
});

test('a trailing backslash is reported, not swallowed', () => {
  const lex = lexProfile('qemu -m 1G\\');
  assert.equal(lex.errors[0].code, 'dangling-backslash');
  assert.equal(lex.errors[0].start, 10);
});

test('shell expansions are recorded (never performed)', () => {
  const lex = lexProfile(`-kernel $HOME/vmlinuz -append '$x' "$y"`);
  assert.deepEqual(lex.words.map((w) => w.expansions), [[], [0], [], [], [0]]);
  assert.equal(lex.words[1].value, '$HOME/vmlinuz');
});

/** Readiness of a guest that is not ours, and --exec's streamed output, on a scripted serial console. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PausableClock } from '../../../extension/pipeline/clock';
import { SerialConsole } from '../../../extension/machine/serial-console';
import { lastConsoleLine, waitForShell } from '../../../extension/machine/shell-wait';

/** A console whose guest side the test plays: `typed` is what the host wrote. */
function scriptedConsole() {
  let toHost: (b: number) => void = () => {};
  const typed: string[] = [];
  const serial = new SerialConsole({ send: (b) => typed.push(Buffer.from(b).toString('latin1')), onByte: (fn) => (toHost = fn) });
  const print = (text: string) => Buffer.from(text, 'latin1').forEach((b) => toHost(b));
  return { serial, typed, print };
}
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the last line is what the console shows: escape sequences and carriage returns removed', () => {
  assert.equal(lastConsoleLine('[  1.0] booting\r\n\x1b]0;root@vm: ~\x07\x1b[01;32mroot@vm\x1b[00m:~# '), 'root@vm:~# ');
  assert.equal(lastConsoleLine('progress 10%\rprogress 90%\rdebian login: '), 'debian login: ');
  assert.equal(lastConsoleLine('done\n'), '');
});

test('ready at a shell prompt that stays the last line; not at a "$ " that passes mid-line', async () => {
  const c = scriptedConsole();
  const progress: string[] = [];
  let ready: unknown;
  void waitForShell(c.serial, { timeoutMs: 10_000, onProgress: (m) => progress.push(m) }).then((r) => (ready = r));
  c.print('Starting cost: 5 $ ');
  await tick(50);
  c.print('and more\r\n');
  await tick(1200);
  assert.equal(ready, undefined, 'not ready while booting');
  assert.match(progress.at(-1)!, /^waiting for the guest's shell: 1 s, last line: Starting cost: 5 \$ and more$/);
  c.print('user@vm:~$ ');
  await tick(600);
  assert.deepEqual(ready, { kind: 'shell' });
});

test('a login prompt: --login types the user name, then the shell is ready; a password prompt or a second login prompt fails clearly', async () => {
  const c = scriptedConsole();
  const done = waitForShell(c.serial, { timeoutMs: 10_000, login: 'root' });
  c.print('\r\nDebian GNU/Linux 12 vm ttyS0\r\n\r\nvm login: ');
  await tick(500);
  assert.deepEqual(c.typed, ['root\n']);
  c.print('root\r\nLinux vm 6.1.0\r\nroot@vm:~# ');
  assert.deepEqual(await done, { kind: 'shell' });

  const p = scriptedConsole();
  const asked = waitForShell(p.serial, { timeoutMs: 10_000, login: 'root' });
  p.print('vm login: ');
  await tick(500);
  p.print('root\r\nPassword: ');
  await assert.rejects(asked, /asks for a password for 'root': Usernet types only a user name/);

  const again = scriptedConsole();
  const refused = waitForShell(again.serial, { timeoutMs: 10_000, login: 'nobody' });
  again.print('vm login: ');
  await tick(500);
  again.print('nobody\r\nLogin incorrect\r\nvm login: ');
  await assert.rejects(refused, /logging in as 'nobody' gave no shell/);
});

test('without --login a login prompt is an error for --exec, and ready for an interactive console', async () => {
  const c = scriptedConsole();
  const failed = waitForShell(c.serial, { timeoutMs: 10_000 });
  c.print('vm login: ');
  await assert.rejects(failed, /the guest asks for a login \("vm login:"\): give --login USER/);
  assert.deepEqual(c.typed, [], 'nothing typed');
  assert.deepEqual(await waitForShell(c.serial, { timeoutMs: 10_000, loginPromptIsReady: true }), { kind: 'login', line: 'vm login:' });
});

test('--prompt replaces the pattern; the timeout names the last line and the option', async () => {
  const c = scriptedConsole();
  c.print('grub> ');
  await assert.rejects(waitForShell(c.serial, { timeoutMs: 800 }), /no shell prompt on the guest's console after 1 s \(last line: "grub>"\); if its prompt looks otherwise, give --prompt REGEX/);
  assert.deepEqual(await waitForShell(c.serial, { timeoutMs: 5000, prompt: /^grub> $/ }), { kind: 'shell' });
});

test('the deadline counts on the VM clock (not while it is paused); an abort ends the wait with its reason; the messages name the caller\'s settings', async () => {
  const c = scriptedConsole();
  const clock = new PausableClock();
  clock.pause();
  let result: unknown;
  const held = waitForShell(c.serial, { timeoutMs: 300, clock }).then((r) => (result = r), (e: Error) => (result = e));
  await tick(600);
  assert.equal(result, undefined, 'no timeout while the VM is paused');
  clock.resume();
  await held;
  assert.match(String(result), /no shell prompt on the guest's console after 0 s/);

  const stop = new AbortController();
  const aborted = waitForShell(c.serial, { timeoutMs: 10_000, signal: stop.signal });
  stop.abort(new Error('the VM went away'));
  await assert.rejects(aborted, /^Error: the VM went away$/);

  c.print('vm login: ');
  await assert.rejects(waitForShell(c.serial, { timeoutMs: 10_000, settings: { prompt: 'P', login: '"login" in launch.json' } }), /give "login" in launch\.json and Usernet logs in/);
});

test('exec streams whole lines as they come, never its own markers, and the pieces add up to the output', async () => {
  const c = scriptedConsole();
  const pieces: string[] = [];
  const result = c.serial.exec('work', 5000, (t) => pieces.push(t));
  await tick(10);
  const line = c.typed.find((t) => t.includes('-BEGIN@@'))!;
  const tag = /printf '@@%s-BEGIN@@\\n' (\w+)/.exec(line)![1];
  c.print(`@@${tag}-BEGIN@@\r\nfirst line\r\nsecond `);
  await tick(20);
  assert.deepEqual(pieces, ['first line'], 'the first line before the command ends; the partial one waits');
  c.print('half\r\nlast\r\n\r\n');
  await tick(20);
  c.print(`@@${tag}-END 7@@\r\n`);
  const r = await result;
  assert.deepEqual(r, { output: 'first line\nsecond half\nlast\n', status: 7 });
  assert.equal(pieces.join(''), r.output);
});

/**
 * A launch of a guest that is not ours under the QEMU engine, through the
 * debug adapter as VS Code runs it (`node dist/adapter.js` over DAP): the
 * bundled kernel with an initramfs whose shell appears late, behind a login
 * (test/support/slow-login-image.ts). The launch answers, and the VM is
 * "running", only once the console shows a shell (or, without "login", the
 * login prompt, the user told how to log in); a prompt that never shows fails
 * the launch with the console's last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { lastConsoleLine } from '../../extension/machine/shell-wait';
import { spawnAdapter, waitFor, type AdapterProcess } from '../support/adapter-process';
import { containmentProblem } from '../support/containment';
import { BUNDLED_KERNEL, slowLoginInitrd } from '../support/slow-login-image';
import { qemuMissing } from './qemu-scenarios';

const skip = containmentProblem() ?? qemuMissing();
const initrd = skip ? '' : slowLoginInitrd();

interface Launched extends AdapterProcess {
  /** Debug Console lines, and VM states, in the order they came. */
  readonly log: string[];
  /** What the launch answered: undefined (ready) or its error message. */
  readonly answer: Promise<string | undefined>;
  /** The serial console and the log when the launch answered. */
  readonly atAnswer: Promise<{ serial: string; log: string[] }>;
}

function launch(attributes: Record<string, unknown>): Launched {
  const adapter = spawnAdapter();
  const log: string[] = [];
  adapter.dc.on('output', (e: DebugProtocol.OutputEvent) => log.push(`${e.body.category}: ${e.body.output.trimEnd()}`));
  adapter.dc.on('usernet.vmState', (e: DebugProtocol.Event) => log.push(`state: ${e.body.state}`));
  adapter.dc.on('progressUpdate', (e: DebugProtocol.ProgressUpdateEvent) => log.push(`progress: ${e.body.message ?? ''}`));
  const answer = (async () => {
    const initialized = adapter.dc.waitForEvent('initialized');
    await adapter.dc.initializeRequest({ adapterID: 'usernet', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsProgressReporting: true });
    await initialized;
    const launched = adapter.dc.launchRequest({ engine: 'qemu', kernel: BUNDLED_KERNEL, initrd, append: 'console=ttyS0 quiet', ...attributes } as DebugProtocol.LaunchRequestArguments);
    await adapter.dc.configurationDoneRequest();
    return launched.then(() => undefined, (e: Error) => e.message);
  })();
  const atAnswer = answer.then(() => ({ serial: adapter.serial(), log: [...log] }));
  return { ...adapter, log, answer, atAnswer };
}

async function end(vm: Launched): Promise<void> {
  const exited = new Promise((r) => vm.child.once('exit', r));
  await vm.dc.disconnectRequest({ terminateDebuggee: true }).catch(() => {});
  await exited;
}

/** The image's PS1 ('\\u@\\h:\\w\\$ ') as busybox ash prints it for root. */
const SHELL_PROMPT = /@slowguest:\/root# $/;
const typeLine = (vm: Launched, text: string) => vm.dc.customRequest('usernet.serialInput', { data: Buffer.from(`${text}\n`).toString('base64') });

test('with "login": progress while the guest boots, the login typed, and "running" only at the shell prompt', { skip, timeout: 240_000 }, async () => {
  const vm = launch({ login: 'root' });
  try {
    assert.equal(await vm.answer, undefined, vm.log.join('\n'));
    const { serial, log } = await vm.atAnswer;
    assert.match(lastConsoleLine(serial), SHELL_PROMPT, 'the launch answered at the shell prompt');
    assert.match(serial, /slowguest login: root/, 'the user name was typed at the login prompt');
    // The progress notification ticks every second; the Debug Console repeats it only every 10 s,
    // so on a fast machine its lines may never show the boot's middle: read the progress.
    const waiting = log.findIndex((l) => /^progress: waiting for the guest's shell: \d+ s, last line: slow init: starting services$/.test(l));
    const running = log.indexOf('state: running');
    const ready = log.findIndex((l) => /^console: VM running \(the guest's shell after \d+\.\d s\)$/.test(l));
    assert.ok(waiting >= 0 && running > waiting && ready > waiting, log.join('\n'));
    assert.ok(Number(/after (\d+\.\d) s/.exec(log[ready]!)![1]) >= 8, 'ready after the 8 s boot, not when QEMU started');
    // The state events repeat as the VM's details change (its boot time, its sessions); the state goes booting, then running.
    assert.deepEqual([...new Set(log.filter((l) => l.startsWith('state:')))], ['state: booting', 'state: running']);
    // The shell is the user's: a command typed there runs as root.
    await typeLine(vm, 'echo "logged in as $USER"');
    await waitFor(vm, 'the answer of echo', () => /logged in as root/.test(vm.serial()), 30_000);
  } finally {
    await end(vm);
  }
});

test('without "login": ready at the login prompt, the Debug Console says how to log in, and the user logs in on the console', { skip, timeout: 240_000 }, async () => {
  const vm = launch({});
  try {
    assert.equal(await vm.answer, undefined, vm.log.join('\n'));
    const { serial, log } = await vm.atAnswer;
    assert.equal(lastConsoleLine(serial), 'slowguest login: ');
    assert.ok(log.some((l) => /^important: the guest asks for a login \("slowguest login:"\): log in in the serial console .*"login" in the launch configuration/.test(l)), log.join('\n'));
    assert.ok(log.indexOf('state: running') > log.findIndex((l) => l.startsWith('important: the guest asks for a login')));
    await typeLine(vm, 'root');
    await waitFor(vm, 'the shell after logging in', () => SHELL_PROMPT.test(lastConsoleLine(vm.serial())), 30_000);
  } finally {
    await end(vm);
  }
});

test('a "prompt" that never shows fails the launch after bootTimeoutMs with the console\'s last line; the VM is stopped', { skip, timeout: 240_000 }, async () => {
  const vm = launch({ login: 'root', prompt: '^never> $', bootTimeoutMs: 40_000 });
  try {
    const error = await vm.answer;
    const { serial, log } = await vm.atAnswer;
    const last = lastConsoleLine(serial.trimEnd()).trim();
    assert.ok(last, 'the console showed something');
    assert.equal(error, `the VM did not start: no shell prompt on the guest's console after 40 s (last line: "${last}"); if its prompt looks otherwise, give "prompt" (a regular expression matching its last line) in the launch configuration`);
    assert.ok(!log.includes('state: running'), log.join('\n'));
    assert.equal(vm.states.at(-1)?.state, 'failed');
    assert.equal(vm.states.at(-1)?.message, error!.replace('the VM did not start: ', ''));
  } finally {
    await end(vm);
  }
});

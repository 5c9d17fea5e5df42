/**
 * A guest that is not ours under `usernet run --engine qemu`: the bundled
 * kernel with an initramfs built here whose init boots slowly (8 s of nothing)
 * and then asks for a login, as a getty would, with a prompt of its own. Ready
 * must mean a shell prompt; --exec waits for it, logs in with --login, streams
 * the command's output and returns its status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { containmentProblem } from '../support/containment';
import { BUNDLED_KERNEL, slowLoginInitrd } from '../support/slow-login-image';
import { qemuMissing } from './qemu-scenarios';

const skip = containmentProblem() ?? qemuMissing();
const ROOT = resolve(__dirname, '..', '..');
const initrd = skip ? '' : slowLoginInitrd();

interface Run {
  status: number | null;
  stdout: string;
  /** stdout as it arrived, chunk by chunk. */
  chunks: string[];
  stderr: string;
}

function usernetRun(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'extension', 'cli.ts'), 'run', '--engine', 'qemu', '--kernel', BUNDLED_KERNEL,
    '--initrd', initrd, '--append', 'console=ttyS0 quiet', '--timeout', '150', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { status: null, stdout: '', chunks: [], stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    run.stdout += d;
    run.chunks.push(d);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (run.stderr += d));
  return new Promise((done) => child.on('close', (status) => done({ ...run, status })));
}

const show = (r: Run) => `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

test('--exec with --login: waits through the slow boot, logs in, streams the output as it comes, returns the status', { skip, timeout: 200_000 }, async () => {
  const r = await usernetRun(['--login', 'root', '--exec', 'echo one; sleep 3; echo "two as $USER on $(hostname)"; exit 3']);
  assert.equal(r.status, 3, show(r));
  assert.equal(r.stdout, 'one\ntwo as root on slowguest\n', show(r));
  assert.ok(r.chunks.length >= 2 && r.chunks[0]!.includes('one') && !r.chunks[0]!.includes('two'), `"one" was printed before "two" was run: ${JSON.stringify(r.chunks)}`);
  // Progress while waiting names the console's last line; ready only after the login gave a shell.
  assert.match(r.stderr, /waiting for the guest's shell: \d+ s, last line: slow init: starting services/);
  const ready = /guest ready in ([\d.]+) s \(QEMU, (TCG|KVM)\)/.exec(r.stderr);
  assert.ok(ready, show(r));
  assert.ok(Number(ready[1]) >= 8, `ready after the 8 s boot, not when QEMU started (${ready[1]} s)`);
  assert.ok(r.stderr.indexOf('guest ready') > r.stderr.lastIndexOf('waiting for the guest'), 'no waiting line after ready');
  // Where KVM cannot be used (missing, or QEMU failed with it), one line says why and what runs instead.
  const kvmLines = r.stderr.split('\n').filter((l) => /kvm/i.test(l) && !/usernet: starting /.test(l));
  assert.ok(kvmLines.length <= 1, kvmLines.join('\n'));
});

test('--exec at a login prompt without --login says how to log in, and runs nothing', { skip, timeout: 200_000 }, async () => {
  const r = await usernetRun(['--exec', 'echo should-not-run']);
  assert.equal(r.status, 1, show(r));
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /the guest asks for a login \("slowguest login:"\): give --login USER/);
  assert.doesNotMatch(r.stderr, /guest ready/);
});

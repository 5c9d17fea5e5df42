import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { askControl, controlDir, controlSocketPath, netnsOf, runningVms, startControlServer } from '../../../extension/cli/control-socket';

const runtime = mkdtempSync(join(tmpdir(), 'usernet-run-'));
after(() => rmSync(runtime, { recursive: true, force: true }));

/** A pid that surely runs no process (above the kernel's pid_max). */
const DEAD_PID = 4_194_399;

test('the socket directory follows XDG_RUNTIME_DIR, else /tmp/usernet-<uid>', () => {
  assert.equal(controlDir({ XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/usernet');
  assert.equal(controlDir({}), `/tmp/usernet-${process.getuid!()}`);
  assert.equal(controlSocketPath(42, '/x'), '/x/42.sock');
});

test('a request line in, the answer out; the socket is private and gone after close', async () => {
  const dir = join(runtime, 'a');
  const server = await startControlServer((req) => (req === 'info usernet' ? 'Hub -1 (user.0):\n' : `error: unknown request '${req}'\n`), controlSocketPath(process.pid, dir));
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(await askControl(server.path, 'info usernet'), 'Hub -1 (user.0):\n');
  assert.equal(await askControl(server.path, 'what'), "error: unknown request 'what'\n");
  await server.close();
  assert.equal(existsSync(server.path), false);
  await assert.rejects(askControl(server.path, 'info usernet'), /ENOENT/);
});

test('runningVms lists live pids and removes sockets of dead processes', async () => {
  const dir = join(runtime, 'b');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${DEAD_PID}.sock`), '');
  writeFileSync(join(dir, 'notes.txt'), '');
  const server = await startControlServer(() => 'ok\n', controlSocketPath(process.pid, dir));
  assert.deepEqual(runningVms(dir), [process.pid]);
  assert.equal(existsSync(join(dir, `${DEAD_PID}.sock`)), false);
  assert.deepEqual(runningVms(join(dir, 'missing')), []);
  await server.close();
});

/** Why a process cannot be put in a network namespace of its own here, or undefined. */
function unshareProblem(): string | undefined {
  const r = spawnSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
  return r.error || r.status !== 0 ? 'unshare --net is not permitted here (needs root or user namespaces)' : undefined;
}

test('runningVms lists only VMs of this network namespace; another namespace\'s socket stays', { skip: unshareProblem() }, async () => {
  const dir = join(runtime, 'netns');
  mkdirSync(dir, { recursive: true });
  // A process in a network namespace of its own stands for a usernet run there.
  const other = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && netnsOf(other.pid!) === netnsOf('self'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.notEqual(netnsOf(other.pid!), netnsOf('self'), 'the stand-in runs in another namespace');
    writeFileSync(join(dir, `${other.pid}.sock`), '');
    const server = await startControlServer(() => 'ok\n', controlSocketPath(process.pid, dir));
    assert.deepEqual(runningVms(dir), [process.pid]);
    assert.equal(existsSync(join(dir, `${other.pid}.sock`)), true, 'not removed: that VM is alive');
    await server.close();
  } finally {
    other.kill();
  }
});

function sessions(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const cli = resolve(__dirname, '../../../extension/cli.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'sessions', ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done) => child.on('close', (status) => done({ status, stdout, stderr })));
}

test('usernet sessions prints the table of the only running VM, or says why it cannot', async () => {
  const xdg = join(runtime, 'c');
  const table = 'Hub -1 (user.0):\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\n  UDP[34 sec]         3       10.0.2.15 33333        10.0.2.3    53     0     0\n';
  const server = await startControlServer((req) => (req === 'info usernet' ? table : 'error: no\n'), controlSocketPath(process.pid, join(xdg, 'usernet')));
  try {
    const ok = await sessions([], { XDG_RUNTIME_DIR: xdg });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, table);
    const wrong = await sessions(['--pid', String(DEAD_PID)], { XDG_RUNTIME_DIR: xdg });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, new RegExp(`process ${DEAD_PID} runs no usernet VM \\(running VMs: ${process.pid}\\)`));
  } finally {
    await server.close();
  }
  const none = await sessions([], { XDG_RUNTIME_DIR: xdg });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^usernet: no running usernet VM .*: start one with 'usernet run'\n$/);
});

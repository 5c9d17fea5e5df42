/**
 * The snapshot cache cannot strand a user: `usernet run` (the built CLI) with
 * a damaged snapshot, another machine's snapshot, a read-only or a full cache
 * directory still reaches the guest's prompt, and says what it did.
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { containmentProblem } from '../support/containment';

const skip = containmentProblem();
const BIN = resolve(__dirname, '../../bin/usernet.js');
const tmp = mkdtempSync(join(tmpdir(), 'usernet-snapshots-'));
const cache = join(tmp, 'cache');
const snapshots = join(cache, 'snapshots');
let pristine: { name: string; bytes: Buffer } | undefined;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function usernet(args: string[], cacheDir = cache): Promise<Run> {
  const env = { ...process.env, XDG_RUNTIME_DIR: tmp, USERNET_DEBUG: '', USERNET_CACHE_DIR: cacheDir };
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
  return new Promise((done) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    }),
  );
}

const show = (r: Run) => `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const reachesPrompt = (cacheDir?: string) => usernet(['run', '--timeout', '270', '--exec', 'echo prompt-reached'], cacheDir);

function assertReached(r: Run, how: 'cold boot' | 'restored from snapshot'): void {
  assert.equal(r.status, 0, show(r));
  assert.equal(r.stdout.trim(), 'prompt-reached', show(r));
  assert.match(r.stderr, new RegExp(`guest ready in [\\d.]+ s \\(${how}\\)`), show(r));
}

before(async () => {
  if (skip) return;
  const r = await reachesPrompt();
  assert.equal(r.status, 0, show(r));
  const [name] = readdirSync(snapshots);
  assert.ok(name?.endsWith('.bin'), `a snapshot was written: ${readdirSync(snapshots)}`);
  pristine = { name, bytes: readFileSync(join(snapshots, name)) };
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The pristine snapshot with its header's key replaced (same length, body and checksum intact). */
function withOtherKey(bytes: Buffer, key: string): Buffer {
  const headerStart = 12;
  const headerLen = bytes.readUInt32BE(8);
  const header = JSON.parse(bytes.subarray(headerStart, headerStart + headerLen).toString('utf8'));
  header.key = 'f'.repeat(key.length);
  return Buffer.concat([bytes.subarray(0, 8), ((b) => (b.writeUInt32BE(headerLen), b))(Buffer.alloc(4)), Buffer.from(JSON.stringify(header)), bytes.subarray(headerStart + headerLen)]);
}

const damages: Array<[string, (b: Buffer, key: string) => Buffer, RegExp]> = [
  ['truncated', (b) => b.subarray(0, b.length >> 1), /truncated: \d+ of \d+ bytes/],
  ['bit-flipped', (b) => ((c) => ((c[c.length - 12345]! ^= 1), c))(Buffer.from(b)), /checksum does not match/],
  ['zeroed in the middle (64 KiB)', (b) => Buffer.from(b).fill(0, b.length >> 1, (b.length >> 1) + 65536), /checksum does not match/],
  ["another machine's (wrong key)", withOtherKey, /it holds another machine/],
];

for (const [what, damage, reason] of damages) {
  test(`a ${what} snapshot: one warning, deleted, a cold boot reaches the prompt and a good snapshot replaces it`, { skip, timeout: 300_000 }, async () => {
    const { name, bytes } = pristine!;
    const file = join(snapshots, name);
    writeFileSync(file, damage(bytes, name.replace(/\.bin$/, '')));
    const r = await reachesPrompt();
    assertReached(r, 'cold boot');
    const warnings = r.stderr.split('\n').filter((l) => l.includes('is unusable'));
    assert.equal(warnings.length, 1, show(r));
    assert.match(warnings[0]!, reason);
    assert.ok(warnings[0]!.includes(file), 'the warning names the file');
    assert.match(warnings[0]!, /deleted it; booting cold$/);
    assert.deepEqual(readdirSync(snapshots), [name], 'a fresh snapshot and no temporary file');
  });
}

test('the snapshot written after those restores (checked, then used)', { skip, timeout: 200_000 }, async () => {
  assertReached(await reachesPrompt(), 'restored from snapshot');
});

/** Mounts a tmpfs (we are root inside the test's own mount namespace); undefined when that is refused. */
function mountTmpfs(dir: string, options: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'usernet-test', dir], { encoding: 'utf8' });
  return m.status === 0 ? undefined : `cannot mount a tmpfs here (${(m.stderr || m.error?.message || '').trim()}): needs root in a private mount namespace (scripts/netns-run.sh)`;
}
const unmount = (dir: string) => spawnSync('umount', [dir]);

/** Boots with the cache on a tmpfs that cannot take the snapshot: one warning saying why, and the run goes on. */
async function bootsWithoutCaching(t: TestContext, name: string, size: string, readOnly: boolean, why: RegExp): Promise<void> {
  const dir = join(tmp, name);
  const refused = mountTmpfs(dir, size) ?? (!readOnly || spawnSync('mount', ['-o', 'remount,ro', dir]).status === 0 ? undefined : 'cannot remount the tmpfs read-only');
  if (refused) return t.skip(refused);
  try {
    const r = await reachesPrompt(dir);
    assertReached(r, 'cold boot');
    const warnings = r.stderr.split('\n').filter((l) => l.includes('cannot keep a snapshot'));
    assert.equal(warnings.length, 1, show(r));
    assert.match(warnings[0]!, why);
    if (!readOnly) assert.deepEqual(readdirSync(join(dir, 'snapshots')), [], 'the partial write was removed');
  } finally {
    unmount(dir);
  }
}

test('a read-only cache directory: one warning, the run goes on without caching', { skip, timeout: 300_000 }, (t) =>
  bootsWithoutCaching(t, 'readonly', 'size=1m', true, /the file system is read-only \(EROFS\); running on without caching$/));

test('a full cache disk: one warning, no temporary file left, the run goes on', { skip, timeout: 300_000 }, (t) =>
  bootsWithoutCaching(t, 'full', 'size=4m', false, /the disk is full \(ENOSPC\); running on without caching$/));

test('usernet cache lists the snapshot and clear deletes it', { skip, timeout: 30_000 }, async () => {
  const list = await usernet(['cache']);
  assert.equal(list.status, 0, show(list));
  assert.match(list.stdout, new RegExp(`^ +[\\d.]+ MiB  \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z  ${join(snapshots, pristine!.name).replace(/[.]/g, '\\.')}\\n$`));
  const clear = await usernet(['cache', 'clear']);
  assert.equal(clear.status, 0, show(clear));
  assert.match(clear.stdout, /^deleted 1 file \([\d.]+ MiB\) from /);
  assert.equal(existsSync(join(snapshots, pristine!.name)), false);
  const empty = await usernet(['cache', 'list']);
  assert.match(empty.stdout, /^no snapshots in /);
  const bad = await usernet(['cache', 'wipe']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^usernet: unknown cache action 'wipe': expected list or clear\n$/);
});

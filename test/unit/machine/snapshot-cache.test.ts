import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearSnapshots, listSnapshots, loadSnapshot, saveSnapshot, snapshotKey } from '../../../extension/machine/snapshot-cache';

const root = mkdtempSync(join(tmpdir(), 'usernet-snapcache-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `c${n++}`, 'snapshots');

const KEY = snapshotKey(['guest', 'v86']);
const machineState = () => Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 7919) & 0xff).buffer;
const snap = () => ({ machine: machineState(), devices: { e1000: { regs: [1, 2, 3] } }, console: 'boot log\r\n' });

function saved(dir: string): string {
  const r = saveSnapshot(KEY, snap(), dir);
  assert.ok(r.file, r.warning);
  return r.file;
}

test('a snapshot written is read back whole, with its devices and boot log, and no temporary file stays', () => {
  const dir = freshDir();
  saved(dir);
  const r = loadSnapshot(KEY, dir);
  assert.equal(r.warning, undefined);
  assert.deepEqual(new Uint8Array(r.snapshot!.machine), new Uint8Array(machineState()));
  assert.deepEqual(r.snapshot!.devices, { e1000: { regs: [1, 2, 3] } });
  assert.equal(r.snapshot!.console, 'boot log\r\n');
  assert.deepEqual(readdirSync(dir), [`${KEY}.bin`]);
});

test('no snapshot: nothing loaded, nothing said', () => {
  assert.deepEqual(loadSnapshot(KEY, freshDir()), {});
});

const damages: Array<[string, (file: string) => void, RegExp]> = [
  ['truncated', (f) => truncateSync(f, readFileSync(f).length - 1000), /truncated: \d+ of \d+ bytes/],
  ['cut inside its header', (f) => truncateSync(f, 20), /truncated in its header/],
  ['a bit flipped', (f) => {
    const b = readFileSync(f);
    b[b.length - 5000]! ^= 0x10;
    writeFileSync(f, b);
  }, /checksum does not match/],
  ['64 KiB zeroed in the middle', (f) => {
    const b = readFileSync(f);
    b.fill(0, b.length >> 1, (b.length >> 1) + 65536);
    writeFileSync(f, b);
  }, /checksum does not match/],
  ['an older layout', (f) => writeFileSync(f, Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('{}'), Buffer.alloc(100)])), /not a snapshot of this version/],
  ['empty', (f) => writeFileSync(f, ''), /0 bytes is too short/],
];

for (const [what, damage, reason] of damages) {
  test(`a snapshot ${what} is refused, named in a warning and deleted`, () => {
    const dir = freshDir();
    const file = saved(dir);
    damage(file);
    const r = loadSnapshot(KEY, dir);
    assert.equal(r.snapshot, undefined);
    assert.match(r.warning!, reason);
    assert.ok(r.warning!.startsWith(`the snapshot ${file} is unusable (`), r.warning);
    assert.match(r.warning!, /: deleted it; booting cold$/);
    assert.equal(existsSync(file), false);
  });
}

test("another machine's snapshot under this key is refused (the key is in the header)", () => {
  const dir = freshDir();
  const other = snapshotKey(['another guest']);
  const r1 = saveSnapshot(other, snap(), dir);
  const mine = join(dir, `${KEY}.bin`);
  writeFileSync(mine, readFileSync(r1.file!));
  const r = loadSnapshot(KEY, dir);
  assert.equal(r.snapshot, undefined);
  assert.match(r.warning!, /it holds another machine \(key [0-9a-f]{12}\.\.\.\)/);
  assert.equal(existsSync(mine), false);
  assert.ok(loadSnapshot(other, dir).snapshot, 'the right key still loads its own');
});

test('a cache path that cannot be a directory: one warning naming why, no file left', () => {
  const base = join(root, `blocked${n++}`);
  writeFileSync(base, 'a file where the cache directory should be');
  const r = saveSnapshot(KEY, snap(), join(base, 'snapshots'));
  assert.equal(r.file, undefined);
  assert.match(r.warning!, /^cannot keep a snapshot in .*blocked\d+\/snapshots: (ENOTDIR|EEXIST) .*; running on without caching$/);
});

test('usernet cache lists snapshots and leftovers; clear deletes them all', () => {
  const dir = freshDir();
  saved(dir);
  writeFileSync(join(dir, `${KEY}.bin.123.tmp`), 'half');
  const list = listSnapshots(dir);
  assert.deepEqual(list.map((s) => [s.file.slice(dir.length + 1), s.partial]), [[`${KEY}.bin`, false], [`${KEY}.bin.123.tmp`, true]]);
  assert.ok(list[0]!.bytes > 256 * 1024);
  assert.equal(clearSnapshots(dir).length, 2);
  assert.deepEqual(readdirSync(dir), []);
  assert.deepEqual(listSnapshots(join(root, 'never-made')), []);
});

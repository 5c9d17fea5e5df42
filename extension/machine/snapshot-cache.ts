/**
 * Snapshots of a booted guest, so a test or a `run --exec` restores to a shell
 * prompt in a few seconds instead of booting. Kept outside the repository
 * (XDG cache), keyed by everything that shapes the machine: a different guest,
 * v86 version, command line, memory size or NIC model gets a different key.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Bump when the saved device state of our own models changes shape (2: the boot log is kept). */
export const SNAPSHOT_FORMAT = 2;

export function snapshotDir(): string {
  const base = process.env.USERNET_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'usernet');
  return join(base, 'snapshots');
}

export function snapshotKey(parts: Array<string | Uint8Array>): string {
  const h = createHash('sha256');
  h.update(`usernet-snapshot-${SNAPSHOT_FORMAT}`);
  for (const p of parts) {
    h.update(typeof p === 'string' ? Buffer.from(p) : p);
    h.update('\0');
  }
  return h.digest('hex').slice(0, 32);
}

export interface Snapshot {
  /** State of our own devices (v86 does not save them). */
  devices: Record<string, unknown>;
  machine: ArrayBuffer;
  /** What the guest printed on its serial port up to the snapshot (latin1), replayed on restore. */
  console?: string;
}

/** File layout: u32 BE length of a JSON header, the header, then v86's state. */
export function loadSnapshot(key: string): Snapshot | undefined {
  const file = join(snapshotDir(), `${key}.bin`);
  if (!existsSync(file)) return undefined;
  try {
    const buf = readFileSync(file);
    const headerLen = buf.readUInt32BE(0);
    const header = JSON.parse(buf.subarray(4, 4 + headerLen).toString('utf8'));
    const body = buf.subarray(4 + headerLen);
    const machine = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
    return { devices: header.devices ?? {}, machine, ...(typeof header.console === 'string' ? { console: header.console } : {}) };
  } catch {
    // A torn or foreign file is as good as none: the caller boots and rewrites it.
    return undefined;
  }
}

export function saveSnapshot(key: string, snap: Snapshot): string {
  const dir = snapshotDir();
  mkdirSync(dir, { recursive: true });
  const header = Buffer.from(JSON.stringify({ format: SNAPSHOT_FORMAT, createdAt: new Date().toISOString(), devices: snap.devices, console: snap.console }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(header.length);
  const file = join(dir, `${key}.bin`);
  // Write then rename, so a concurrent reader never sees half a snapshot.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([len, header, Buffer.from(snap.machine)]));
  renameSync(tmp, file);
  return file;
}

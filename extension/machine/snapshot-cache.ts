/**
 * Snapshots of a booted guest, so a test or a `run --exec` restores to a shell
 * prompt in a few seconds instead of booting. Kept outside the repository
 * (XDG cache), keyed by everything that shapes the machine: a different guest,
 * v86 version, command line, memory size or NIC model gets a different key.
 *
 * A cache must never cost more than it saves: every snapshot carries its key,
 * its length and a SHA-256 of its body, checked before v86 is given it (a torn
 * or flipped file restored "fine" and then hung the guest); a bad one is
 * deleted and named in a warning, and the guest boots cold. Writes go to a
 * temporary file renamed into place, removed on any failure; a cache directory
 * that cannot be written is a warning, never a failed run.
 */
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Bump when the saved device state of our own models, or this file layout, changes shape (2: the boot log; 3: key and checksum). */
export const SNAPSHOT_FORMAT = 3;
/** The first bytes of every snapshot file. */
const MAGIC = Buffer.from('USNAPSHT');
const SUFFIX = '.bin';
const TEMP_SUFFIX = '.tmp';

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

interface SnapshotHeader {
  format: number;
  key: string;
  createdAt: string;
  bodyLength: number;
  sha256: string;
  devices: Record<string, unknown>;
  console?: string;
}

export interface LoadedSnapshot {
  snapshot?: Snapshot;
  /** Set when a snapshot was there but unusable (it has been deleted). */
  warning?: string;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Why `buf` is not a good snapshot for `key`, or its parts. */
function parseSnapshot(buf: Buffer, key: string): { header: SnapshotHeader; body: Buffer } | string {
  if (buf.length < MAGIC.length + 4) return `${buf.length} bytes is too short`;
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) return 'not a snapshot of this version of Usernet';
  const headerLen = buf.readUInt32BE(MAGIC.length);
  const headerEnd = MAGIC.length + 4 + headerLen;
  if (headerEnd > buf.length) return 'truncated in its header';
  let header: SnapshotHeader;
  try {
    header = JSON.parse(buf.subarray(MAGIC.length + 4, headerEnd).toString('utf8'));
  } catch {
    return 'its header is damaged';
  }
  if (header.format !== SNAPSHOT_FORMAT) return `format ${header.format}, expected ${SNAPSHOT_FORMAT}`;
  if (header.key !== key) return `it holds another machine (key ${String(header.key).slice(0, 12)}...)`;
  const body = buf.subarray(headerEnd);
  if (body.length !== header.bodyLength) return `truncated: ${body.length} of ${header.bodyLength} bytes`;
  if (sha256(body) !== header.sha256) return 'its checksum does not match (damaged on disk)';
  return { header, body };
}

/** File layout: magic, u32 BE length of a JSON header (key, length, checksum, devices), then v86's state. */
export function loadSnapshot(key: string, dir = snapshotDir()): LoadedSnapshot {
  const file = join(dir, `${key}${SUFFIX}`);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? {} : { warning: `cannot read the snapshot ${file} (${code}): booting cold` };
  }
  const parsed = parseSnapshot(buf, key);
  if (typeof parsed === 'string') {
    let deleted = 'deleted it';
    try {
      unlinkSync(file);
    } catch (e) {
      deleted = `could not delete it (${(e as NodeJS.ErrnoException).code})`;
    }
    return { warning: `the snapshot ${file} is unusable (${parsed}): ${deleted}; booting cold` };
  }
  const { header, body } = parsed;
  const machine = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  return { snapshot: { devices: header.devices ?? {}, machine, ...(typeof header.console === 'string' ? { console: header.console } : {}) } };
}

export type SavedSnapshot = { file: string; warning?: undefined } | { file?: undefined; warning: string };

/** Writes the snapshot atomically; a directory that cannot take it is a warning, and nothing is left behind. */
export function saveSnapshot(key: string, snap: Snapshot, dir = snapshotDir()): SavedSnapshot {
  const body = Buffer.from(snap.machine);
  const header: SnapshotHeader = { format: SNAPSHOT_FORMAT, key, createdAt: new Date().toISOString(), bodyLength: body.length, sha256: sha256(body), devices: snap.devices, console: snap.console };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(headerBytes.length);
  const file = join(dir, `${key}${SUFFIX}`);
  // Write then rename, so a concurrent reader never sees half a snapshot.
  const tmp = `${file}.${process.pid}${TEMP_SUFFIX}`;
  let fd: number | undefined;
  try {
    makeCacheDir(dir);
    fd = openSync(tmp, 'w');
    for (const part of [MAGIC, len, headerBytes, body]) {
      for (let off = 0; off < part.length; ) off += writeSync(fd, part, off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
    return { file };
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or the directory refuses even that: nothing more to do.
    }
    const err = e as NodeJS.ErrnoException;
    return { warning: `cannot keep a snapshot in ${dir}: ${cacheErrorReason(err)}; running on without caching` };
  }
}

/** mkdir -p, with the true reason when it fails: Node's recursive mkdir says ENOENT on a read-only file system. */
function makeCacheDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    let parent = dirname(dir);
    while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
    accessSync(parent, constants.W_OK);
    throw e;
  }
}

function cacheErrorReason(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk is full (${e.code})`;
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    case 'EACCES':
    case 'EPERM':
      return `no permission to write there (${e.code})`;
    default:
      return e.code ? `${e.code} (${e.message})` : e.message;
  }
}

export interface CachedSnapshot {
  file: string;
  bytes: number;
  /** When it was written (the file's time when its header cannot be read). */
  createdAt: Date;
  /** Left by a write that did not finish (a crashed process). */
  partial: boolean;
}

/** The snapshots (and any leftover temporary files) in the cache directory. */
export function listSnapshots(dir = snapshotDir()): CachedSnapshot[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .filter((n) => n.endsWith(SUFFIX) || n.endsWith(TEMP_SUFFIX))
    .sort()
    .map((n) => {
      const file = join(dir, n);
      const st = statSync(file);
      return { file, bytes: st.size, createdAt: st.mtime, partial: n.endsWith(TEMP_SUFFIX) };
    });
}

/** Deletes every snapshot (and leftover temporary file); returns what went. */
export function clearSnapshots(dir = snapshotDir()): CachedSnapshot[] {
  const all = listSnapshots(dir);
  for (const s of all) unlinkSync(s.file);
  return all;
}

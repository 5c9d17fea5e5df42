/**
 * The "newc" cpio format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst): enough to read
 * the bundled initramfs and write a changed copy, so a test can boot a guest
 * that is not ours without a cpio binary.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

export interface CpioEntry {
  name: string;
  /** st_mode: file type and permissions. */
  mode: number;
  data: Uint8Array;
}

const MAGIC = '070701';
const HEADER = 110;
const pad4 = (n: number) => (4 - (n % 4)) % 4;

export function readCpio(gz: Uint8Array): CpioEntry[] {
  const bytes = gunzipSync(gz);
  const entries: CpioEntry[] = [];
  let off = 0;
  for (;;) {
    const head = bytes.subarray(off, off + HEADER).toString('latin1');
    if (!head.startsWith(MAGIC)) throw new Error(`not a newc cpio at offset ${off}`);
    const field = (i: number) => parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = bytes.subarray(off + HEADER, off + HEADER + nameSize - 1).toString('latin1');
    off += HEADER + nameSize + pad4(HEADER + nameSize);
    if (name === 'TRAILER!!!') return entries;
    entries.push({ name, mode, data: bytes.subarray(off, off + size) });
    off += size + pad4(size);
  }
}

export function writeCpio(entries: readonly CpioEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  const add = (e: CpioEntry, ino: number) => {
    const name = Buffer.from(`${e.name}\0`, 'latin1');
    const fields = [ino, e.mode, 0, 0, 1, 0, e.data.length, 0, 0, 0, 0, name.length, 0];
    const head = Buffer.from(MAGIC + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'latin1');
    parts.push(head, name, Buffer.alloc(pad4(HEADER + name.length)), Buffer.from(e.data), Buffer.alloc(pad4(e.data.length)));
  };
  entries.forEach((e, i) => add(e, i + 1));
  add({ name: 'TRAILER!!!', mode: 0, data: new Uint8Array(0) }, 0);
  return gzipSync(Buffer.concat(parts));
}

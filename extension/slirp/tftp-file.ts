/**
 * The file side of a TFTP transfer (tftp.ts): the next block read from the
 * file, converted to netascii as it streams when the client asked for it.
 */
import type { FileHandle } from 'node:fs/promises';

const CR = 13;
const LF = 10;

/** What a transfer keeps of its file between blocks. */
export interface TftpFileState {
  file?: FileHandle;
  readonly netascii: boolean;
  blockSize: number;
  /** Where the next block starts in the file. */
  offset: number;
  /** netascii: the second byte of a CR LF / CR NUL pair that did not fit the previous block, or -1. */
  carry: number;
  /** The transfer ended meanwhile: reading stops. */
  readonly ended: boolean;
}

/** The next block: blockSize bytes, shorter only at the end of the file. */
export function readBlock(s: TftpFileState): Promise<Uint8Array> {
  return s.netascii ? readNetascii(s) : read(s, new Uint8Array(s.blockSize));
}

/** Fills `into` from the file at the transfer's offset; shorter only at the end of the file. */
async function read(s: TftpFileState, into: Uint8Array): Promise<Uint8Array> {
  let filled = 0;
  while (filled < into.length && s.file && !s.ended) {
    const { bytesRead } = await s.file.read(into, filled, into.length - filled, s.offset);
    if (bytesRead === 0) break;
    filled += bytesRead;
    s.offset += bytesRead;
  }
  return into.subarray(0, filled);
}

/** The next netascii block: LF becomes CR LF and CR becomes CR NUL (RFC 764), converted as it streams. */
async function readNetascii(s: TftpFileState): Promise<Uint8Array> {
  const out = new Uint8Array(s.blockSize);
  let o = 0;
  if (s.carry >= 0) {
    out[o++] = s.carry;
    s.carry = -1;
  }
  while (o < out.length) {
    // Each source byte yields at least one: never read more than the room left.
    const src = await read(s, new Uint8Array(out.length - o));
    if (src.length === 0 || s.ended) break;
    for (const b of src) {
      if (b !== CR && b !== LF) {
        out[o++] = b;
        continue;
      }
      out[o++] = CR;
      const second = b === LF ? LF : 0;
      if (o < out.length) out[o++] = second;
      else s.carry = second;
    }
  }
  return out.subarray(0, o);
}

/**
 * The framing of QEMU's `-netdev stream` and `-netdev socket`: a 4-byte
 * big-endian length, then that many bytes of Ethernet frame, in both directions.
 */

/** The largest frame accepted: 64 KiB (QEMU's NET_BUFSIZE is 68 KiB; real frames are far smaller). */
export const MAX_STREAM_FRAME = 65536;

export function encodeStreamFrame(frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + frame.length);
  out.writeUInt32BE(frame.length, 0);
  out.set(frame, 4);
  return out;
}

export class StreamFramingError extends Error {
  constructor(readonly length: number) {
    super(`frame length ${length} exceeds ${MAX_STREAM_FRAME}: not a QEMU stream netdev, or the stream is corrupt`);
    this.name = 'StreamFramingError';
  }
}

/**
 * Splits a byte stream into frames whatever the chunking: a header may be split
 * across chunks and a chunk may hold many frames. Holds at most one partial frame.
 */
export class StreamFrameDecoder {
  private header = new Uint8Array(4);
  private headerFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private failed = false;

  constructor(private readonly onFrame: (frame: Uint8Array) => void) {}

  /** Bytes held of an incomplete frame. */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /** Feeds a chunk; throws StreamFramingError (and stays failed) on a length over the limit. */
  push(chunk: Uint8Array): void {
    if (this.failed) return;
    let i = 0;
    while (i < chunk.length) {
      if (!this.body) {
        let length: number;
        if (this.headerFill === 0 && chunk.length - i >= 4) {
          // The common case, read in place: no view per header (a chunk may hold 16,000 of them).
          length = ((chunk[i]! << 24) | (chunk[i + 1]! << 16) | (chunk[i + 2]! << 8) | chunk[i + 3]!) >>> 0;
          i += 4;
        } else {
          while (this.headerFill < 4 && i < chunk.length) this.header[this.headerFill++] = chunk[i++]!;
          if (this.headerFill < 4) return;
          length = ((this.header[0]! << 24) | (this.header[1]! << 16) | (this.header[2]! << 8) | this.header[3]!) >>> 0;
          this.headerFill = 0;
        }
        if (length > MAX_STREAM_FRAME) {
          this.failed = true;
          throw new StreamFramingError(length);
        }
        if (length === 0) continue;
        // A whole frame inside this chunk is passed without a copy.
        if (chunk.length - i >= length) {
          this.onFrame(chunk.subarray(i, i + length));
          i += length;
          continue;
        }
        this.body = new Uint8Array(length);
        this.bodyFill = 0;
      }
      const take = Math.min(this.body.length - this.bodyFill, chunk.length - i);
      this.body.set(chunk.subarray(i, i + take), this.bodyFill);
      this.bodyFill += take;
      i += take;
      if (this.bodyFill === this.body.length) {
        const frame = this.body;
        this.body = undefined;
        this.bodyFill = 0;
        this.onFrame(frame);
      }
    }
  }
}

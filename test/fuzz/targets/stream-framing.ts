/**
 * The stream netdev's framing (QEMU's -netdev stream: a 4-byte big-endian length,
 * then the frame): the bytes are the stream, cut into chunks at places the first
 * byte chooses. The decoder must yield exactly the frames a plain reading of the
 * whole stream finds, whatever the chunking, and refuse an oversized length.
 */
import { MAX_STREAM_FRAME, StreamFrameDecoder, StreamFramingError } from '../../../extension/machine/stream-framing';
import type { FuzzTarget } from './target';

/** The frames of a whole stream, read in the plainest way: the oracle. */
function referenceFrames(stream: Uint8Array): { frames: Uint8Array[]; oversized: boolean } {
  const frames: Uint8Array[] = [];
  let i = 0;
  while (i + 4 <= stream.length) {
    const len = ((stream[i]! << 24) | (stream[i + 1]! << 16) | (stream[i + 2]! << 8) | stream[i + 3]!) >>> 0;
    if (len > MAX_STREAM_FRAME) return { frames, oversized: true };
    if (i + 4 + len > stream.length) break;
    if (len > 0) frames.push(stream.subarray(i + 4, i + 4 + len));
    i += 4 + len;
  }
  return { frames, oversized: false };
}

export const streamFraming: FuzzTarget = {
  about: 'a byte stream of the stream netdev (length-prefixed frames), the first byte choosing where it is cut into chunks',
  maxLength: 16384,
  dictionary: [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0x05, 0xea], [0, 1, 0, 0], [0, 1, 0, 1], [0xff, 0xff, 0xff, 0xff]],
  open() {
    return {
      run(data: Uint8Array): void {
        const cut = data[0] ?? 1;
        const stream = data.subarray(1);
        const got: Uint8Array[] = [];
        const decoder = new StreamFrameDecoder((f) => got.push(f.slice()));
        let oversized = false;
        let state = cut | 1;
        for (let i = 0; i < stream.length; ) {
          state = (state * 1103515245 + 12345) >>> 0;
          const size = 1 + (state >>> 16) % (cut < 128 ? 8 : 2048);
          try {
            decoder.push(stream.subarray(i, i + size));
          } catch (e) {
            if (!(e instanceof StreamFramingError)) throw e;
            oversized = true;
          }
          i += size;
        }
        const want = referenceFrames(stream);
        if (oversized !== want.oversized) throw new Error(`oversized length: decoder ${oversized}, stream ${want.oversized}`);
        if (got.length !== want.frames.length) throw new Error(`decoded ${got.length} frames, the stream holds ${want.frames.length}`);
        got.forEach((f, k) => {
          if (Buffer.compare(f, want.frames[k]!) !== 0) throw new Error(`frame ${k} differs from the stream's`);
        });
        if (decoder.buffered > MAX_STREAM_FRAME + 4) throw new Error(`decoder holds ${decoder.buffered} bytes`);
      },
      close() {},
    };
  },
};

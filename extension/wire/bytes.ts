/** Big-endian accessors over Uint8Array, used by the header views. Callers check bounds first. */
export const get16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
export const get32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
export function set16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}
export function set32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}


export const BROADCAST_MAC = new Uint8Array([255, 255, 255, 255, 255, 255]);

/** The most bytes outside its range that copyRange copies along (a TCP header is at most 60). */
export const COPY_RANGE_SLACK = 64;

/**
 * dst[at, at + end - start) = src[start, end), without a view of src on the way:
 * TypedArray.set copies whole arrays only (and Node 20's Buffer.copy of a part
 * makes the same view inside), and a view is ~90 bytes of heap, one per segment
 * on the hot path. So src is set whole at `at` and the range moved down into
 * place (copyWithin): two copies of memory, no object. The bytes of dst after the
 * range, up to at + src.length, are scratch (overwritten). When dst has no room
 * for the whole of src there, or src has more than COPY_RANGE_SLACK bytes outside
 * the range, it copies through a view as usual. src and dst must not share memory.
 */
export function copyRange(dst: Uint8Array, at: number, src: Uint8Array, start: number, end: number): void {
  if (src.length - (end - start) > COPY_RANGE_SLACK || at + src.length > dst.length) {
    dst.set(src.subarray(start, end), at);
    return;
  }
  dst.set(src, at);
  if (start > 0) dst.copyWithin(at, at + start, at + end);
}

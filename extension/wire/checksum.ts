/**
 * The internet checksum (RFC 1071), shared by IPv4, ICMP, UDP and TCP.
 * Sums are kept as plain numbers and folded at the end: a 65535-byte datagram
 * cannot overflow a double, so no per-step folding is needed.
 */

/** Below this many bytes the byte loop is as fast as the word loop. */
const WORD_VIEW_MIN = 64;
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Adds the 16-bit big-endian words of bytes[start, end) to `sum`; an odd last byte is padded with zero. */
export function sumWords(bytes: Uint8Array, start: number, end: number, sum = 0): number {
  if (LITTLE_ENDIAN && end - start >= WORD_VIEW_MIN && ((bytes.byteOffset + start) & 1) === 0) return sumWords32(bytes, start, end, sum);
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i === last) sum += bytes[i]! << 8;
  return sum;
}

/**
 * The buffer last summed through a 32-bit view, and that view: frames are cut
 * from shared slabs (and decoded from shared read chunks), so one view serves
 * many frames instead of one allocation per checksum.
 */
let viewedBuffer: ArrayBufferLike | undefined;
let words32: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * sumWords four bytes per load. Little-endian loads read each 16-bit word
 * byte-swapped, and the ones' complement sum commutes with swapping (RFC 1071
 * 2.B): the 32-bit loads are summed, folded to 16 bits (2^16 = 1 modulo
 * 2^16 - 1) and swapped back once. A leading half word (the transport header
 * of a frame starts 2 bytes past a 4-byte boundary) and the last 1-3 bytes go
 * byte by byte.
 */
function sumWords32(bytes: Uint8Array, start: number, end: number, sum: number): number {
  const buffer = bytes.buffer;
  let at = bytes.byteOffset + start;
  const stop = bytes.byteOffset + end;
  if (buffer !== viewedBuffer) {
    viewedBuffer = buffer;
    words32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  if (at & 2) {
    sum += (bytes[start]! << 8) | bytes[start + 1]!;
    at += 2;
  }
  const first = at >>> 2;
  const last = stop >>> 2;
  const words = words32;
  // Four sums, not one: the additions do not wait on each other (half the time of one running sum
  // over a 1480-byte segment). Each stays exact: 2^32 per word, far below 2^53 for any datagram.
  let a = 0,
    b = 0,
    c = 0,
    d = 0;
  let w = first;
  for (; w + 4 <= last; w += 4) {
    a += words[w]!;
    b += words[w + 1]!;
    c += words[w + 2]!;
    d += words[w + 3]!;
  }
  for (; w < last; w++) a += words[w]!;
  let s = a + b + c + d;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  sum += ((s & 0xff) << 8) | (s >> 8);
  for (let i = last * 4 - bytes.byteOffset; i < end; i += 2) sum += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  return sum;
}

/** Folds a running sum to 16 bits (end-around carry), without complementing it. */
export function foldChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Folds a running sum to 16 bits and complements it. */
export function finishChecksum(sum: number): number {
  return ~foldChecksum(sum) & 0xffff;
}

/** The checksum of bytes[start, end). Over a region that embeds its own correct checksum it is 0. */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return finishChecksum(sumWords(bytes, start, end));
}

/** The IPv4 pseudo-header sum (RFC 793 / 768) that TCP and UDP add before their own bytes. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** The TCP/UDP checksum of a transport segment bytes[start, end) between src and dst. */
export function transportChecksum(src: number, dst: number, protocol: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  return finishChecksum(sumWords(bytes, start, end, pseudoHeaderSum(src, dst, protocol, end - start)));
}

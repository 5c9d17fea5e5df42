/**
 * The internet checksum (RFC 1071), shared by IPv4, ICMP, UDP and TCP.
 * Sums are kept as plain numbers and folded at the end: a 65535-byte datagram
 * cannot overflow a double, so no per-step folding is needed.
 */

/** Below this many bytes a word view costs more than it saves. */
const WORD_VIEW_MIN = 64;
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Adds the 16-bit big-endian words of bytes[start, end) to `sum`; an odd last byte is padded with zero. */
export function sumWords(bytes: Uint8Array, start: number, end: number, sum = 0): number {
  if (LITTLE_ENDIAN && end - start >= WORD_VIEW_MIN && ((bytes.byteOffset + start) & 1) === 0) return sumWordsSwapped(bytes, start, end, sum);
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i === last) sum += bytes[i]! << 8;
  return sum;
}

/**
 * sumWords through a Uint16Array: one load per word instead of two byte loads
 * and a shift. A little-endian host reads every word byte-swapped; the ones'
 * complement sum commutes with swapping (RFC 1071 2.B), so the folded sum is
 * swapped back once.
 */
function sumWordsSwapped(bytes: Uint8Array, start: number, end: number, sum: number): number {
  const count = (end - start) >> 1;
  const words = new Uint16Array(bytes.buffer, bytes.byteOffset + start, count);
  let s = 0;
  for (let i = 0; i < count; i++) s += words[i]!;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  sum += ((s & 0xff) << 8) | (s >> 8);
  if ((end - start) & 1) sum += bytes[end - 1]! << 8;
  return sum;
}

/** Folds a running sum to 16 bits and complements it. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
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

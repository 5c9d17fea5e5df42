/**
 * The internet checksum (RFC 1071), shared by IPv4, ICMP, UDP and TCP.
 * Sums are kept as plain numbers and folded at the end: a 65535-byte datagram
 * cannot overflow a double, so no per-step folding is needed.
 */

/** Adds the 16-bit big-endian words of bytes[start, end) to `sum`; an odd last byte is padded with zero. */
export function sumWords(bytes: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i === last) sum += bytes[i]! << 8;
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

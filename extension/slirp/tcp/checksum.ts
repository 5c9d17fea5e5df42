/**
 * The Internet checksum (RFC 1071) over the IPv4 pseudo-header and a TCP segment.
 * Summing into a plain number and folding once at the end is safe: a segment of
 * 64 KiB adds at most 2^32, far below 2^53.
 */
export function tcpChecksum(src: number, dst: number, segment: Uint8Array): number {
  let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + segment.length;
  const n = segment.length;
  const even = n & ~1;
  for (let i = 0; i < even; i += 2) sum += (segment[i] << 8) | segment[i + 1];
  if (n & 1) sum += segment[n - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** True when the checksum field in `segment` is right (the sum over everything folds to 0xffff). */
export function tcpChecksumValid(src: number, dst: number, segment: Uint8Array): boolean {
  return tcpChecksum(src, dst, segment) === 0;
}

import { transportChecksum } from '../../wire/checksum';
import { IPPROTO_TCP } from '../../wire/ipv4';

/** The Internet checksum (RFC 1071) over the IPv4 pseudo-header and a TCP segment. */
export function tcpChecksum(src: number, dst: number, segment: Uint8Array): number {
  return transportChecksum(src, dst, IPPROTO_TCP, segment);
}

/** True when the checksum field in `segment` is right (the sum over everything folds to 0xffff). */
export function tcpChecksumValid(src: number, dst: number, segment: Uint8Array): boolean {
  return tcpChecksum(src, dst, segment) === 0;
}

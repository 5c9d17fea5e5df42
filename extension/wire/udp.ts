import { get16, set16 } from './bytes';
import { transportChecksum } from './checksum';
import { IPPROTO_UDP } from './ipv4';
import { ipv6TransportChecksum } from './ipv6';

export const UDP_HEADER_LENGTH = 8;

/** A view over a UDP datagram; the UDP length field has been checked against the IP payload. */
export class UdpView {
  private constructor(readonly bytes: Uint8Array) {}

  /** Returns the drop reason or the view, trimmed to the UDP length. */
  static check(ipPayload: Uint8Array, src: number, dst: number): UdpView | string {
    const bytes = trimmed(ipPayload);
    if (typeof bytes === 'string') return bytes;
    // A zero checksum means the sender did not compute one (allowed over IPv4).
    if (get16(bytes, 6) !== 0 && transportChecksum(src, dst, IPPROTO_UDP, bytes) !== 0) return 'udp-bad-checksum';
    return new UdpView(bytes);
  }

  /** `check` over IPv6, where the checksum is mandatory (RFC 8200 8.1): a zero one is refused. */
  static check6(ipPayload: Uint8Array, src: Uint8Array, dst: Uint8Array): UdpView | string {
    const bytes = trimmed(ipPayload);
    if (typeof bytes === 'string') return bytes;
    if (get16(bytes, 6) === 0 || ipv6TransportChecksum(src, dst, IPPROTO_UDP, bytes) !== 0) return 'udp-bad-checksum';
    return new UdpView(bytes);
  }

  static wrap(bytes: Uint8Array): UdpView {
    if (bytes.length < UDP_HEADER_LENGTH) throw new RangeError('buffer too short for UDP');
    return new UdpView(bytes);
  }

  get sourcePort(): number {
    return get16(this.bytes, 0);
  }
  get destinationPort(): number {
    return get16(this.bytes, 2);
  }
  get length(): number {
    return get16(this.bytes, 4);
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(UDP_HEADER_LENGTH);
  }
}

/** The datagram within an IP payload, cut to its UDP length, or why it cannot be one. */
function trimmed(ipPayload: Uint8Array): Uint8Array | string {
  if (ipPayload.length < UDP_HEADER_LENGTH) return 'udp-truncated';
  const length = get16(ipPayload, 4);
  if (length < UDP_HEADER_LENGTH) return 'udp-bad-length';
  if (length > ipPayload.length) return 'udp-length-exceeds-ip';
  return ipPayload.subarray(0, length);
}

/** Writes a UDP header over bytes (header + payload already in place) and its checksum. */
export function writeUdpHeader(bytes: Uint8Array, src: number, dst: number, srcPort: number, dstPort: number): void {
  writePortsAndLength(bytes, srcPort, dstPort);
  writeChecksum(bytes, transportChecksum(src, dst, IPPROTO_UDP, bytes));
}

/** writeUdpHeader over IPv6. */
export function writeUdp6Header(bytes: Uint8Array, src: Uint8Array, dst: Uint8Array, srcPort: number, dstPort: number): void {
  writePortsAndLength(bytes, srcPort, dstPort);
  writeChecksum(bytes, ipv6TransportChecksum(src, dst, IPPROTO_UDP, bytes));
}

/** Ports and length, and a zero checksum field so that the sum over the header is right. */
function writePortsAndLength(bytes: Uint8Array, srcPort: number, dstPort: number): void {
  set16(bytes, 0, srcPort);
  set16(bytes, 2, dstPort);
  set16(bytes, 4, bytes.length);
  set16(bytes, 6, 0);
}

/** A computed zero is sent as all ones: zero means "no checksum". */
function writeChecksum(bytes: Uint8Array, sum: number): void {
  set16(bytes, 6, sum === 0 ? 0xffff : sum);
}

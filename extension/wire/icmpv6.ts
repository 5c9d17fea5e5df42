import { get16, get32, set16 } from './bytes';
import { IPPROTO_ICMPV6, IPV6_HEADER_LENGTH, ipv6TransportChecksum } from './ipv6';

export const ICMPV6_HEADER_LENGTH = 8;
export const ICMPV6_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ICMPV6_ROUTER_ADVERTISEMENT = 134;
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
export const ICMPV6_REDIRECT = 137;
/** Multicast listener discovery: a host's reports and done messages (RFC 2710 3.6-3.7, RFC 3810 5.2). */
export const ICMPV6_MLD_REPORT = 131;
export const ICMPV6_MLD_DONE = 132;
export const ICMPV6_MLDV2_REPORT = 143;

/** Codes of destination unreachable (RFC 4443 3.1). */
export const ICMPV6_UNREACH_NO_ROUTE = 0;
export const ICMPV6_UNREACH_ADMIN = 1;
export const ICMPV6_UNREACH_ADDRESS = 3;
export const ICMPV6_UNREACH_PORT = 4;
/** Codes of time exceeded (RFC 4443 3.3). */
export const ICMPV6_TIME_EXCEEDED_HOP_LIMIT = 0;
export const ICMPV6_TIME_EXCEEDED_REASSEMBLY = 1;

/**
 * An ICMPv6 error quotes as much of the offending datagram as fits in the
 * minimum IPv6 MTU (RFC 4443 2.4 (c)): 1280 minus the IPv6 and ICMPv6 headers.
 */
export const ICMPV6_MAX_QUOTE = 1280 - IPV6_HEADER_LENGTH - ICMPV6_HEADER_LENGTH;

/** Whether a message type is a host telling routers which multicast groups it listens to (or left). */
export const isMldReport = (type: number): boolean => type === ICMPV6_MLD_REPORT || type === ICMPV6_MLD_DONE || type === ICMPV6_MLDV2_REPORT;

/** Whether a message type is an error (types below 128, RFC 4443 2.1): never answered with another error. */
export const isIcmpv6Error = (type: number): boolean => type < 128;

/** A view over an ICMPv6 message; `bytes` ends where the IPv6 payload ends. */
export class Icmpv6View {
  private constructor(readonly bytes: Uint8Array) {}

  /** Checks the length and the checksum over the pseudo-header of src and dst. */
  static check(bytes: Uint8Array, src: Uint8Array, dst: Uint8Array): Icmpv6View | string {
    // Four bytes (type, code, checksum) make a message; the rest depends on the type.
    if (bytes.length < 4) return 'icmpv6-truncated';
    if (ipv6TransportChecksum(src, dst, IPPROTO_ICMPV6, bytes) !== 0) return 'icmpv6-bad-checksum';
    return new Icmpv6View(bytes);
  }

  get type(): number {
    return this.bytes[0]!;
  }
  get code(): number {
    return this.bytes[1]!;
  }
  get checksum(): number {
    return get16(this.bytes, 2);
  }
  /** Echo identifier and sequence (echo messages, at least 8 bytes). */
  get identifier(): number {
    return get16(this.bytes, 4);
  }
  get sequence(): number {
    return get16(this.bytes, 6);
  }
  /** The MTU of a packet-too-big, the pointer of a parameter problem. */
  get word(): number {
    return get32(this.bytes, 4);
  }
}

/** Fills the checksum of an ICMPv6 message in place, between src and dst. */
export function setIcmpv6Checksum(message: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
  set16(message, 2, 0);
  set16(message, 2, ipv6TransportChecksum(src, dst, IPPROTO_ICMPV6, message));
}

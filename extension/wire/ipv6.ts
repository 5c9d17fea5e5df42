import { get16, get32 } from './bytes';
import { finishChecksum, sumWords } from './checksum';

export const IPV6_HEADER_LENGTH = 40;
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPV6_FRAGMENT_HEADER_LENGTH = 8;

/** The fragment header of a datagram, when it has one (RFC 8200 4.5). */
export interface Ipv6FragmentHeader {
  /** Where the fragment header starts in the view's bytes: what precedes it is the unfragmentable part. */
  readonly at: number;
  /** Offset of this fragment's data in the original payload, in bytes. */
  readonly offset: number;
  readonly more: boolean;
  readonly identification: number;
  /** The header after the fragment header (of the first fragment: what the reassembled datagram carries). */
  readonly nextHeader: number;
  /** Where the next-header field naming the fragment header is: reassembly writes `nextHeader` there. */
  readonly nextHeaderFieldAt: number;
}

/**
 * A view over an IPv6 datagram. `check` walks the extension headers (hop-by-hop,
 * routing, destination options) up to the transport header or to a fragment
 * header, where the walk stops: what follows a fragment header is only known
 * once the datagram is reassembled (and checked again).
 */
export class Ipv6View {
  private constructor(
    readonly bytes: Uint8Array,
    /** The transport protocol (or IPPROTO_FRAGMENT's next header for a fragment, or IPPROTO_NONE). */
    readonly protocol: number,
    /** Where the transport header (or the fragment data) starts in `bytes`. */
    readonly upperOffset: number,
    readonly fragment: Ipv6FragmentHeader | undefined,
  ) {}

  /**
   * Checks what ip6_input must check before trusting any field: version, the
   * payload length against the buffer (Ethernet padding after it is ignored),
   * and a well-formed chain of extension headers. Each kind may appear only as
   * often as RFC 8200 4.1 allows (destination options twice, the others once),
   * which also bounds the walk: four headers at most before a fragment header.
   * Returns a drop reason or the view.
   */
  static check(bytes: Uint8Array): Ipv6View | string {
    if (bytes.length < IPV6_HEADER_LENGTH) return 'ipv6-truncated';
    if (bytes[0]! >> 4 !== 6) return 'ipv6-bad-version';
    const end = IPV6_HEADER_LENGTH + get16(bytes, 4);
    if (end > bytes.length) return 'ipv6-length-exceeds-frame';
    let next = bytes[6]!;
    let at = IPV6_HEADER_LENGTH;
    let nextHeaderFieldAt = 6;
    let destinationOptions = 0;
    let routing = false;
    for (;;) {
      if (next === IPPROTO_HOPOPTS) {
        // Only straight after the IPv6 header (RFC 8200 4.3).
        if (at !== IPV6_HEADER_LENGTH) return 'ipv6-bad-ext-chain';
      } else if (next === IPPROTO_DSTOPTS) {
        if (++destinationOptions > 2) return 'ipv6-bad-ext-chain';
      } else if (next === IPPROTO_ROUTING) {
        if (routing) return 'ipv6-bad-ext-chain';
        routing = true;
      } else if (next !== IPPROTO_FRAGMENT) {
        return new Ipv6View(bytes.subarray(0, end), next, at, undefined);
      }
      if (at + 8 > end) return 'ipv6-ext-truncated';
      if (next === IPPROTO_FRAGMENT) {
        const fo = get16(bytes, at + 2);
        if ((fo & 6) !== 0) return 'ipv6-bad-fragment-header';
        const fragment = { at, offset: fo & 0xfff8, more: (fo & 1) === 1, identification: get32(bytes, at + 4), nextHeader: bytes[at]!, nextHeaderFieldAt };
        return new Ipv6View(bytes.subarray(0, end), bytes[at]!, at + IPV6_FRAGMENT_HEADER_LENGTH, fragment);
      }
      const length = (bytes[at + 1]! + 1) * 8;
      if (at + length > end) return 'ipv6-ext-truncated';
      if (next === IPPROTO_ROUTING) {
        // Segments left: this stack is no router of source routes; with none left the header is only read past.
        if (bytes[at + 3] !== 0) return 'ipv6-routing-unsupported';
      } else {
        const bad = checkOptions(bytes, at + 2, at + length);
        if (bad) return bad;
      }
      next = bytes[at]!;
      nextHeaderFieldAt = at;
      at += length;
    }
  }

  /** Wraps a datagram the stack itself built; no checks. */
  static wrap(bytes: Uint8Array): Ipv6View {
    if (bytes.length < IPV6_HEADER_LENGTH) throw new RangeError('buffer too short for IPv6');
    return new Ipv6View(bytes, bytes[6]!, IPV6_HEADER_LENGTH, undefined);
  }

  get trafficClass(): number {
    return ((this.bytes[0]! & 0x0f) << 4) | (this.bytes[1]! >> 4);
  }
  get flowLabel(): number {
    return ((this.bytes[1]! & 0x0f) << 16) | get16(this.bytes, 2);
  }
  get payloadLength(): number {
    return get16(this.bytes, 4);
  }
  /** The first next-header field (the IPv6 header's own). */
  get nextHeader(): number {
    return this.bytes[6]!;
  }
  get hopLimit(): number {
    return this.bytes[7]!;
  }
  get source(): Uint8Array {
    return this.bytes.subarray(8, 24);
  }
  get destination(): Uint8Array {
    return this.bytes.subarray(24, 40);
  }
  /** The transport header and data (a fragment's data, for a fragment). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.upperOffset);
  }
  /** The whole datagram, without the Ethernet padding. */
  get datagram(): Uint8Array {
    return this.bytes;
  }
}

/**
 * The type-length-value options of a hop-by-hop or destination options header.
 * An option this stack does not know is skipped only when its type says so
 * (the top two bits 00, RFC 8200 4.2); the rest make the datagram dropped.
 */
function checkOptions(bytes: Uint8Array, start: number, end: number): string | undefined {
  let at = start;
  while (at < end) {
    const type = bytes[at]!;
    if (type === 0) {
      at++;
      continue;
    }
    if (at + 2 > end || at + 2 + bytes[at + 1]! > end) return 'ipv6-bad-option';
    // PadN (1) and Router Alert (5, carried by MLD reports) are understood; 0xc2 is a jumbo payload.
    if (type !== 1 && type !== 5 && type >> 6 !== 0) return type === 0xc2 ? 'ipv6-jumbogram-unsupported' : 'ipv6-unknown-option';
    at += 2 + bytes[at + 1]!;
  }
  return undefined;
}

/**
 * Writes a 40-byte IPv6 header at bytes[at, at+40): the form every datagram for
 * the guest goes through, with plain arguments.
 */
export function writeIpv6HeaderAt(
  bytes: Uint8Array,
  at: number,
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  payloadLength: number,
  hopLimit = 64,
  trafficClass = 0,
  flowLabel = 0,
): void {
  bytes[at] = 0x60 | (trafficClass >> 4);
  bytes[at + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >> 16) & 0x0f);
  bytes[at + 2] = (flowLabel >> 8) & 0xff;
  bytes[at + 3] = flowLabel & 0xff;
  bytes[at + 4] = payloadLength >>> 8;
  bytes[at + 5] = payloadLength & 0xff;
  bytes[at + 6] = nextHeader;
  bytes[at + 7] = hopLimit;
  bytes.set(src.subarray(0, 16), at + 8);
  bytes.set(dst.subarray(0, 16), at + 24);
}

/** The IPv6 pseudo-header sum (RFC 8200 8.1) that ICMPv6, UDP and TCP add before their own bytes. */
export function ipv6PseudoHeaderSum(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  return sumWords(dst, 0, 16, sumWords(src, 0, 16)) + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/** The ICMPv6/UDP/TCP checksum of bytes[start, end) between src and dst. Over bytes holding their own correct checksum it is 0. */
export function ipv6TransportChecksum(src: Uint8Array, dst: Uint8Array, nextHeader: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  return finishChecksum(sumWords(bytes, start, end, ipv6PseudoHeaderSum(src, dst, nextHeader, end - start)));
}

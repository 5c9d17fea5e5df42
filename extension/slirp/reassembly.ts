import type { Clock, TimerHandle } from '../pipeline/clock';
import type { DropReason } from '../pipeline/drop-reasons';
import type { StageName } from '../pipeline/stages';
import type { DropCounter } from './drops';
import { set16 } from '../wire/bytes';
import { internetChecksum } from '../wire/checksum';
import type { Ipv4View } from '../wire/ipv4';
import { IPV6_HEADER_LENGTH, type Ipv6View } from '../wire/ipv6';
import { formatIpv6 } from '../wire/ipv6-address';

/**
 * Limits of IP reassembly (IPv4 and IPv6 alike). Every one is a bound on what a guest can make the
 * host hold: 64 datagrams x 64 fragments, 1 MiB of fragment data in all, and 30 s
 * (the BSD IPFRAGTTL libslirp inherits: 60 ticks of 500 ms) before an incomplete
 * datagram is forgotten.
 */
export interface ReassemblyLimits {
  readonly maxDatagrams: number;
  readonly maxFragmentsPerDatagram: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = {
  maxDatagrams: 64,
  maxFragmentsPerDatagram: 64,
  maxBytes: 1 << 20,
  timeoutMs: 30_000,
};

const MAX_DATAGRAM = 65535;

interface Fragment {
  readonly offset: number;
  readonly data: Uint8Array;
}

interface PendingDatagram {
  readonly key: string;
  /** Where its drops are counted: ip_input or ip6_input. */
  readonly stage: StageName;
  readonly fragments: Fragment[];
  /** The header of the fragment at offset 0, once seen (it carries the options, if any). */
  header?: Uint8Array;
  /** Payload length, known once the last fragment (MF clear) arrived. */
  totalPayload?: number;
  bytes: number;
  timer: TimerHandle;
}

/**
 * Holds fragments until a datagram is whole. Fragments are copied (the frame
 * buffer belongs to the NIC); any overlap, even an identical retransmission,
 * discards the whole datagram (RFC 5722's rule, applied to IPv4), which rules out
 * the reassembly bugs that come from trimming overlaps.
 */
export class Reassembler {
  private pending = new Map<string, PendingDatagram>();
  private bytesHeld = 0;

  constructor(
    private readonly clock: Clock,
    private readonly drops: DropCounter,
    private readonly limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS,
  ) {}

  get datagramsInProgress(): number {
    return this.pending.size;
  }

  get bytesInProgress(): number {
    return this.bytesHeld;
  }

  /** Adds one IPv4 fragment; returns the whole datagram (header + payload, checksum fixed) when complete. */
  add(ip: Ipv4View): Uint8Array | null {
    const key = `${ip.source}:${ip.destination}:${ip.protocol}:${ip.identification}`;
    const offset = ip.fragmentOffset;
    const whole = this.addPiece(key, offset, !ip.moreFragments, ip.payload, MAX_DATAGRAM - ip.headerLength, offset === 0 ? ip.bytes.subarray(0, ip.headerLength) : undefined, 'ip_input');
    if (!whole) return null;
    const hl = (whole[0]! & 15) * 4;
    set16(whole, 2, whole.length);
    set16(whole, 6, 0);
    set16(whole, 10, 0);
    set16(whole, 10, internetChecksum(whole, 0, hl));
    return whole;
  }

  /**
   * Adds one IPv6 fragment (RFC 8200 4.5); returns the whole datagram when
   * complete: the first fragment's headers without the fragment header, then the
   * payload. The same limits hold as for IPv4.
   */
  addIpv6(ip: Ipv6View): Uint8Array | null {
    const f = ip.fragment!;
    const key = `6:${formatIpv6(ip.source)}:${formatIpv6(ip.destination)}:${f.identification}`;
    // The payload length field counts the headers after the IPv6 header too.
    const maxEnd = MAX_DATAGRAM - (f.at - IPV6_HEADER_LENGTH);
    let head: Uint8Array | undefined;
    if (f.offset === 0) {
      head = ip.bytes.slice(0, f.at);
      head[f.nextHeaderFieldAt] = f.nextHeader;
    }
    const whole = this.addPiece(key, f.offset, !f.more, ip.payload, maxEnd, head, 'ip6_input');
    if (whole) set16(whole, 4, whole.length - IPV6_HEADER_LENGTH);
    return whole;
  }

  /**
   * Adds fragment data at `offset` of the datagram `key`; `head`, the headers
   * to put in front of the whole payload, comes with the fragment at offset 0.
   * Returns head + payload when every byte is there.
   */
  private addPiece(key: string, offset: number, last: boolean, payload: Uint8Array, maxEnd: number, head: Uint8Array | undefined, stage: StageName): Uint8Array | null {
    const end = offset + payload.length;
    let d = this.pending.get(key);
    const reject = (reason: DropReason) => this.reject(d, reason, stage);

    if (payload.length === 0) return reject('frag-empty');
    if (!last && payload.length % 8 !== 0) return reject('frag-bad-length');
    if (end > maxEnd) return reject('frag-oversized');
    if (payload.length > this.limits.maxBytes) return reject('frag-oversized');

    if (!d) {
      while (this.pending.size >= this.limits.maxDatagrams) this.evictOldest();
      d = { key, stage, fragments: [], bytes: 0, timer: this.clock.setTimeout(() => this.expire(key), this.limits.timeoutMs) };
      this.pending.set(key, d);
    }
    if (d.fragments.length >= this.limits.maxFragmentsPerDatagram) return reject('frag-too-many');
    if (d.totalPayload !== undefined && (end > d.totalPayload || (last && end !== d.totalPayload))) return reject('frag-overlap');
    if (last && d.fragments.some((f) => f.offset + f.data.length > end)) return reject('frag-overlap');
    for (const f of d.fragments) {
      if (offset < f.offset + f.data.length && f.offset < end) return reject('frag-overlap');
    }
    while (this.bytesHeld + payload.length > this.limits.maxBytes) {
      const oldest = this.pending.values().next().value!;
      if (oldest === d) return reject('frag-memory-limit');
      this.evictOldest();
    }

    d.fragments.push({ offset, data: payload.slice() });
    d.bytes += payload.length;
    this.bytesHeld += payload.length;
    if (head) d.header = head.slice();
    if (last) d.totalPayload = end;
    if (d.totalPayload === undefined || d.bytes !== d.totalPayload || !d.header) return null;

    // No overlaps and as many bytes as the total: the fragments cover it exactly.
    this.forget(d);
    const hl = d.header.length;
    const whole = new Uint8Array(hl + d.totalPayload);
    whole.set(d.header);
    for (const f of d.fragments) whole.set(f.data, hl + f.offset);
    return whole;
  }

  clear(): void {
    for (const d of [...this.pending.values()]) this.forget(d);
  }

  private reject(d: PendingDatagram | undefined, reason: DropReason, stage: StageName): null {
    this.drops.count(reason, stage);
    if (d) this.forget(d);
    return null;
  }

  private evictOldest(): void {
    const oldest = this.pending.values().next().value;
    if (!oldest) return;
    this.drops.count('frag-evicted', oldest.stage);
    this.forget(oldest);
  }

  private expire(key: string): void {
    const d = this.pending.get(key);
    if (!d) return;
    this.drops.count('frag-timeout', d.stage);
    this.forget(d);
  }

  private forget(d: PendingDatagram): void {
    if (this.pending.get(d.key) !== d) return;
    this.pending.delete(d.key);
    this.clock.clearTimeout(d.timer);
    this.bytesHeld -= d.bytes;
  }
}

/**
 * One rule at work: what it decides for each packet that matches it, in tc
 * netem's order (netem_enqueue): duplicate, loss, corrupt, the queue limit,
 * then delay (with reorder) and rate. `mtu` comes first: a packet too large
 * for the link never reaches the rest.
 */
import type { DropReason } from '../drop-reasons';
import type { ProbeHit } from '../probe';
import { CorrelatedRandom, type Uniform } from './random';
import { MAX_HELD_BYTES, type NetemRule } from './rule';
import { defaultBurst, TokenBucket } from './token-bucket';

export interface RuleCounters {
  /** Packets the rule's stage and filter selected. */
  matched: number;
  /** Packets dropped by loss, mtu or a full queue (all three). */
  dropped: number;
  /** Of those, dropped because the rule already held `limit` packets (or its byte bound). */
  overflowed: number;
  /** Packets (copies included) held for a while before going on. */
  delayed: number;
  /** Extra copies made. */
  duplicated: number;
  /** Packets sent ahead of those delayed before them. */
  reordered: number;
  corrupted: number;
  /** Packets held right now, and their bytes. */
  held: number;
  heldBytes: number;
}

/** The drop reasons (drop-reasons.ts) a rule reports its discards under. */
export type NetemDropReason = Extract<DropReason, 'netem-loss' | 'netem-mtu' | 'netem-limit'>;

/** What happens to one packet: dropped (with why), or copies each leaving after a hold. */
export type Decision =
  | { readonly drop: NetemDropReason }
  | { readonly drop?: undefined; readonly holds: readonly number[] };

const PASS: Decision = { holds: [0] };

const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;

export class RuleState {
  readonly counters: RuleCounters = { matched: 0, dropped: 0, overflowed: 0, delayed: 0, duplicated: 0, reordered: 0, corrupted: 0, held: 0, heldBytes: 0 };
  private readonly loss?: CorrelatedRandom;
  private readonly duplicate?: CorrelatedRandom;
  private readonly corrupt?: CorrelatedRandom;
  private readonly reorder?: CorrelatedRandom;
  private readonly delay?: CorrelatedRandom;
  private readonly bucket?: TokenBucket;
  /** netem's reorder counter: packets delayed since one last went ahead. */
  private sinceAhead = 0;

  constructor(readonly id: number, readonly rule: NetemRule, private readonly uniform: Uniform) {
    const a = rule.actions;
    if (a.loss) this.loss = new CorrelatedRandom(uniform, a.loss.correlation);
    if (a.duplicate) this.duplicate = new CorrelatedRandom(uniform, a.duplicate.correlation);
    if (a.corrupt) this.corrupt = new CorrelatedRandom(uniform, a.corrupt.correlation);
    if (a.reorder) this.reorder = new CorrelatedRandom(uniform, a.reorder.correlation);
    if (a.delay) this.delay = new CorrelatedRandom(uniform, a.delay.correlation);
    if (a.rate) this.bucket = new TokenBucket(a.rate.bytesPerMs, defaultBurst(a.rate.bytesPerMs));
  }

  matches(hit: ProbeHit): boolean {
    return !this.rule.filter || this.rule.filter.matches(hit);
  }

  /** Decides for a matching packet arriving at `now`. May flip a bit of `frame` (corrupt). */
  decide(frame: Uint8Array, now: number): Decision {
    const a = this.rule.actions;
    const c = this.counters;
    c.matched++;
    if (a.mtu !== undefined && datagramLength(frame) > a.mtu) return this.dropped('netem-mtu');
    let copies = this.duplicate?.chance(a.duplicate!.p) ? 2 : 1;
    if (this.loss?.chance(a.loss!.p)) copies--;
    if (copies === 0) return this.dropped('netem-loss');
    if (copies === 2) c.duplicated++;
    if (this.corrupt?.chance(a.corrupt!.p) && flipBit(frame, this.uniform)) c.corrupted++;
    if (!this.delay && !this.bucket) return copies === 1 ? PASS : { holds: [0, 0] };
    if (c.held + copies > a.limit || c.heldBytes + copies * frame.length > MAX_HELD_BYTES) {
      c.overflowed++;
      return this.dropped('netem-limit');
    }
    const holds: number[] = [];
    for (let i = 0; i < copies; i++) holds.push(this.holdFor(frame.length, now));
    return { holds };
  }

  /** Bookkeeping of a packet held by this rule: call `released` when it goes on. */
  hold(bytes: number): void {
    this.counters.held++;
    this.counters.heldBytes += bytes;
    this.counters.delayed++;
  }

  released(bytes: number): void {
    this.counters.held--;
    this.counters.heldBytes -= bytes;
  }

  private holdFor(bytes: number, now: number): number {
    const a = this.rule.actions;
    let leave = this.bucket ? this.bucket.departure(now, bytes) : now;
    if (a.delay) {
      if (this.goesAhead()) this.counters.reordered++;
      else leave += this.drawDelay();
    }
    return leave - now;
  }

  /** netem: with reorder, a packet goes ahead (undelayed) once gap - 1 were delayed, with its probability. */
  private goesAhead(): boolean {
    const r = this.rule.actions.reorder;
    if (!r) return false;
    if (this.sinceAhead < r.gap - 1 || !this.reorder!.chance(r.p)) {
      this.sinceAhead++;
      return false;
    }
    this.sinceAhead = 0;
    return true;
  }

  /** netem's tabledist without a table: uniform in [delay - jitter, delay + jitter], never negative. */
  private drawDelay(): number {
    const d = this.rule.actions.delay!;
    if (d.jitterMs === 0) return d.ms;
    return Math.max(0, d.ms - d.jitterMs + this.delay!.next() * 2 * d.jitterMs);
  }

  private dropped(reason: NetemDropReason): Decision {
    this.counters.dropped++;
    return { drop: reason };
  }
}

/** The IP datagram's length (an IPv4 total length when it has one), else what follows the Ethernet header. */
function datagramLength(frame: Uint8Array): number {
  if (frame.length >= ETH_HEADER + 20 && ((frame[12]! << 8) | frame[13]!) === ETHERTYPE_IPV4) {
    return (frame[ETH_HEADER + 2]! << 8) | frame[ETH_HEADER + 3]!;
  }
  return Math.max(0, frame.length - ETH_HEADER);
}

/**
 * netem's corrupt: one bit flipped at a random place, after the checksums were
 * computed, so the receiver's checks see it. The flip lands past the IPv4
 * header (in the transport header or data) so the packet still reaches the
 * layer that checks it rather than being discarded as not for this host.
 */
function flipBit(frame: Uint8Array, uniform: Uniform): boolean {
  let start = ETH_HEADER;
  if (frame.length > ETH_HEADER + 20 && ((frame[12]! << 8) | frame[13]!) === ETHERTYPE_IPV4) start = ETH_HEADER + (frame[ETH_HEADER]! & 0x0f) * 4;
  if (frame.length <= start) return false;
  const bit = Math.floor(uniform() * (frame.length - start) * 8);
  frame[start + (bit >> 3)] ^= 1 << (bit & 7);
  return true;
}

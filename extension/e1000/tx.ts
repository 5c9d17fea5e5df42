/**
 * The e1000's transmit side. Longer than the house's ~400 lines on purpose:
 * the ring walk, the packet being assembled and the three probes that can
 * hold it (start_xmit, process_tx_desc, e1000_send_packet) share one
 * resumable state (a held walk resumes exactly where it stopped: the pending
 * EOP, the segments not yet sent, which probe was passed). Split across
 * files, that state would have to be exposed to each of them. Offloads
 * (checksums, TSO, VLAN) are in offload.ts, the ring registers in ring.ts.
 */
import type { DescriptorInfo } from '../pipeline/probe';
import type { DelayedCause } from './interrupts';
import { DELAY_UNIT_MS } from './interrupts';
import type { EngineDeps } from './engine-deps';
import { RingRegisters, readAddress64 } from './ring';
import { applyChecksums, emptyContext, insertChecksum, insertVlanTag, readContext, segmentTso, type TxContext } from './offload';
import { CTRL, DESC_SIZE, ICR, REG, STAT, TCTL, TUCMD, TXD_CMD, TXD_DTYP, TXD_STA_DD } from './registers';
import { fromBase64, toBase64 } from './base64';

const W = (offset: number) => offset >>> 2;

/** A packet without TSO may not exceed this (QEMU's buffer is the same 64 KiB). */
export const MAX_PLAIN_PACKET = 0x10000;
/** A TSO packet: at most 255 header bytes and 256 KiB of payload. */
export const MAX_TSO_PACKET = 255 + 0x40000;
const MIN_FRAME = 60;

type DescKind = 'legacy' | 'context' | 'data' | 'reserved';

/** The EOP descriptor whose segments are being sent; written back once they are all out. */
interface PendingEop {
  index: number;
  address: number;
  cmd: number;
  status: number;
  info?: DescriptorInfo;
}

export interface TxState {
  ctx: TxContext;
  tsoCtx: TxContext;
  packet: string;
  popts: number;
  tse: boolean;
  started: boolean;
  broken: boolean;
  segments: string[];
  pendingEop: Omit<PendingEop, 'info'> | null;
}

export interface TxDeps extends EngineDeps {
  readonly txDelay: DelayedCause;
  /** Puts a finished frame on the wire (or the PHY loopback). */
  readonly output: (frame: Uint8Array) => void;
  readonly linkUp: () => boolean;
}

/**
 * The transmit side: walks the TX ring from TDH to TDT (start_xmit), consumes
 * legacy, context and data descriptors (process_tx_desc), assembles each
 * packet, applies checksum offload, TSO and VLAN insertion, and sends the
 * frames (e1000_send_packet). A probe that holds a packet stops the walk; its
 * resume picks up exactly where it stopped.
 */
export class TxEngine {
  readonly ring: RingRegisters;
  private ctx = emptyContext();
  private tsoCtx = emptyContext();
  private packet = new Uint8Array(2048);
  private size = 0;
  private popts = 0;
  private tse = false;
  /** A descriptor of the current packet has been consumed (POPTS and TSE come from the first). */
  private started = false;
  /** Something in this packet was refused: it is dropped at EOP. */
  private broken = false;
  private segments: Uint8Array[] = [];
  private pendingEop: PendingEop | undefined;
  /** Causes gathered during a walk, raised when it ends. */
  private cause = 0;
  /** The walk consumed descriptors: emptying the queue then raises TXQE. */
  private consumed = false;
  /** A probe holds a packet: walks wait for its resume. */
  private held = false;
  /** The held descriptor/frame passed its probe once already. */
  private passedDescProbe = false;
  private passedSendProbe = false;
  /** Bumped by reset so a stale resume does nothing. */
  private epoch = 0;
  private readonly desc = new Uint8Array(DESC_SIZE);

  constructor(private readonly d: TxDeps) {
    this.ring = new RingRegisters(d.regs, REG.TDBAL, REG.TDBAH, REG.TDLEN, REG.TDH, REG.TDT);
  }

  get holding(): boolean {
    return this.held;
  }

  /** start_xmit: TDT or TCTL was written. */
  startXmit(): void {
    if (this.held) return;
    if (!(this.d.regs[W(REG.TCTL)] & TCTL.EN)) return;
    const p = this.d.probes.probes.start_xmit;
    if (p.enter()) {
      const hit = { stage: p.stage, frame: new Uint8Array(0) };
      const epoch = this.epoch;
      const resume = (): void => {
        p.fire(hit);
        this.resumeWalk(epoch);
      };
      if (p.fire(hit, resume)) {
        this.held = true;
        return;
      }
    }
    this.walk();
  }

  private resumeWalk(epoch: number): void {
    if (epoch !== this.epoch) return;
    this.held = false;
    this.walk();
  }

  private hold(): void {
    this.held = true;
  }

  private walk(): void {
    const ring = this.ring;
    let budget = ring.size;
    for (;;) {
      if (!this.flushSegments()) return;
      if (this.pendingEop) {
        this.complete(this.pendingEop);
        this.pendingEop = undefined;
      }
      if (ring.head === ring.tail) break;
      if (!ring.valid) {
        this.d.refusals.count('tx-ring-head-or-tail-beyond-ring');
        break;
      }
      if (budget-- <= 0) break;
      if (!this.process(ring.head)) {
        if (this.held) return;
        break;
      }
    }
    this.endWalk();
  }

  private endWalk(): void {
    let cause = this.cause;
    this.cause = 0;
    if (this.consumed && this.ring.head === this.ring.tail) cause |= ICR.TXQE;
    this.consumed = false;
    if (cause) this.d.interrupts.raise(cause);
  }

  /** process_tx_desc for the descriptor at `index`. False: stop the walk (held, or unreadable). */
  private process(index: number): boolean {
    const address = this.ring.descriptorAddress(index);
    const raw = this.d.bus.dmaRead(address, DESC_SIZE);
    if (!raw) {
      this.d.refusals.count('dma-outside-ram');
      return false;
    }
    const desc = this.desc;
    desc.set(raw);
    const cmd = desc[11];
    const dtyp = (desc[10] >>> 4) & 0xf;
    const kind: DescKind = !(cmd & TXD_CMD.DEXT)
      ? 'legacy'
      : dtyp === TXD_DTYP.CONTEXT
        ? 'context'
        : dtyp === TXD_DTYP.DATA
          ? 'data'
          : 'reserved';
    const bufAddr = readAddress64(desc, 0);
    const length = kind === 'legacy' ? desc[8] | (desc[9] << 8) : (desc[8] | (desc[9] << 8) | (desc[10] << 16)) & 0xfffff;

    const p = this.d.probes.probes.process_tx_desc;
    if (!this.passedDescProbe && p.enter()) {
      const info = this.describe(kind, index, address, desc, length);
      const frame = kind === 'context' || kind === 'reserved' ? new Uint8Array(0) : (this.d.bus.dmaRead(bufAddr, length)?.slice() ?? new Uint8Array(0));
      const hit = { stage: p.stage, frame, descriptor: info };
      const epoch = this.epoch;
      const resume = (): void => {
        p.fire(hit);
        if (epoch !== this.epoch) return;
        this.passedDescProbe = true;
        this.resumeWalk(epoch);
      };
      if (p.fire(hit, resume)) {
        this.hold();
        return false;
      }
    }
    this.passedDescProbe = false;
    this.consumed = true;
    this.d.counters.txDescriptors++;

    let eop = false;
    switch (kind) {
      case 'reserved':
        this.d.refusals.count('tx-desc-reserved-type');
        break;
      case 'context': {
        const ctx = readContext(desc);
        if (ctx.tucmd & TUCMD.TSE) this.tsoCtx = ctx;
        else this.ctx = ctx;
        break;
      }
      case 'data':
        if (!this.started) {
          this.popts = desc[13];
          this.tse = (cmd & TUCMD.TSE) !== 0;
        }
        this.append(bufAddr, length);
        eop = (cmd & TXD_CMD.EOP) !== 0;
        break;
      case 'legacy':
        if (!this.started) {
          this.popts = 0;
          this.tse = false;
        }
        this.append(bufAddr, length);
        eop = (cmd & TXD_CMD.EOP) !== 0;
        break;
    }

    const status = desc[12];
    if (eop) {
      // Decoded only for a listening probe: the hot path builds no objects for the debugger.
      const info = this.d.probes.probes.e1000_send_packet.armed ? this.describe(kind, index, address, desc, length) : undefined;
      this.pendingEop = { index, address, cmd, status, info };
      this.finishPacket(kind, desc, cmd);
    } else {
      this.complete({ index, address, cmd, status });
    }
    return true;
  }

  /** Writes DD back when the driver asked (RS/RPS), gathers TXDW, and moves TDH on. */
  private complete(e: PendingEop): void {
    if (e.cmd & (TXD_CMD.RS | TXD_CMD.RPS)) {
      // DD set; the collision/underrun bits (EC, LC, TU) never happen here.
      const sta = new Uint8Array([(e.status | TXD_STA_DD) & ~0x0e & 0xff]);
      if (!this.d.bus.dmaWrite(e.address + 12, sta)) this.d.refusals.count('dma-outside-ram');
      const tidv = this.d.regs[W(REG.TIDV)] & 0xffff;
      if (e.cmd & TXD_CMD.IDE && tidv > 0) {
        this.d.txDelay.event(tidv * DELAY_UNIT_MS, (this.d.regs[W(REG.TADV)] & 0xffff) * DELAY_UNIT_MS);
      } else {
        this.cause |= ICR.TXDW;
      }
    }
    const next = e.index + 1;
    this.ring.head = next >= this.ring.size ? 0 : next;
  }

  private append(addr: number, length: number): void {
    this.started = true;
    if (this.broken) return;
    if (length === 0) {
      this.d.refusals.count('tx-desc-zero-length');
      return;
    }
    const limit = this.tse ? MAX_TSO_PACKET : MAX_PLAIN_PACKET;
    if (this.size + length > limit) {
      this.d.refusals.count(this.tse ? 'tx-tso-packet-too-large' : 'tx-packet-too-large');
      this.d.probes.drops.drop('tx-packet-too-large');
      this.broken = true;
      return;
    }
    const data = this.d.bus.dmaRead(addr, length);
    if (!data) {
      this.d.refusals.count('dma-outside-ram');
      this.d.probes.drops.drop('tx-dma-outside-ram');
      this.broken = true;
      return;
    }
    if (this.size + length > this.packet.length) {
      let cap = this.packet.length;
      while (cap < this.size + length) cap *= 2;
      const bigger = new Uint8Array(cap);
      bigger.set(this.packet.subarray(0, this.size));
      this.packet = bigger;
    }
    this.packet.set(data, this.size);
    this.size += length;
  }

  /** The EOP descriptor was consumed: build the frames to send. */
  private finishPacket(kind: DescKind, desc: Uint8Array, cmd: number): void {
    const size = this.size;
    const broken = this.broken;
    const tse = this.tse;
    const popts = this.popts;
    this.size = 0;
    this.broken = false;
    this.started = false;
    this.popts = 0;
    this.tse = false;
    if (broken || size === 0) {
      this.d.counters.txDropped++;
      return;
    }
    let frames: Uint8Array[];
    if (tse) {
      const out = segmentTso(this.packet.subarray(0, size), this.tsoCtx, popts);
      if (typeof out === 'string') {
        this.d.refusals.count(out);
        this.d.probes.drops.drop('tx-tso-bad-context');
        this.d.counters.txDropped++;
        return;
      }
      frames = out;
      this.d.counters.tsoPackets++;
      this.d.stats.inc(STAT.TSCTC);
    } else {
      const frame = this.packet.slice(0, size);
      if (kind === 'legacy') {
        // Legacy CSO/CSS/IC are taken from the EOP descriptor, as the manual specifies.
        if (cmd & TXD_CMD.IC) insertChecksum(frame, desc[10], desc[13], 0, false);
      } else {
        applyChecksums(frame, this.ctx, popts);
      }
      frames = [frame];
    }
    const regs = this.d.regs;
    if (cmd & TXD_CMD.VLE && regs[W(REG.CTRL)] & CTRL.VME) {
      const tci = desc[14] | (desc[15] << 8);
      frames = frames.map((f) => insertVlanTag(f, regs[W(REG.VET)], tci));
    }
    if (regs[W(REG.TCTL)] & TCTL.PSP) {
      frames = frames.map((f) => (f.length >= MIN_FRAME ? f : padded(f)));
    }
    this.segments = frames;
  }

  /** Sends queued segments (e1000_send_packet). False when a probe holds one. */
  private flushSegments(): boolean {
    while (this.segments.length > 0) {
      const frame = this.segments[0];
      const p = this.d.probes.probes.e1000_send_packet;
      if (!this.passedSendProbe && p.enter(frame)) {
        const hit = { stage: p.stage, frame, descriptor: this.pendingEop?.info };
        const epoch = this.epoch;
        const resume = (): void => {
          p.fire(hit);
          if (epoch !== this.epoch) return;
          this.passedSendProbe = true;
          this.resumeWalk(epoch);
        };
        if (p.fire(hit, resume)) {
          this.hold();
          return false;
        }
      }
      this.passedSendProbe = false;
      this.segments.shift();
      this.send(frame);
    }
    return true;
  }

  private send(frame: Uint8Array): void {
    if (!this.d.linkUp()) {
      this.d.counters.txDropped++;
      this.d.probes.drops.drop('tx-link-down', undefined, frame);
      return;
    }
    this.d.stats.transmitted(frame, frame.length + 4);
    this.d.counters.txFrames++;
    this.d.counters.txBytes += frame.length;
    this.d.output(frame);
  }

  private describe(kind: DescKind, index: number, address: number, desc: Uint8Array, length: number): DescriptorInfo {
    const fields: Record<string, number | string | boolean> = { kind, cmd: desc[11], status: desc[12] };
    if (kind === 'context') {
      const c = readContext(desc);
      Object.assign(fields, c, { tse: (c.tucmd & TUCMD.TSE) !== 0 });
    } else if (kind !== 'reserved') {
      fields.buffer = readAddress64(desc, 0);
      fields.length = length;
      fields.eop = (desc[11] & TXD_CMD.EOP) !== 0;
      fields.rs = (desc[11] & TXD_CMD.RS) !== 0;
      fields.vle = (desc[11] & TXD_CMD.VLE) !== 0;
      fields.special = desc[14] | (desc[15] << 8);
      if (kind === 'legacy') {
        fields.cso = desc[10];
        fields.css = desc[13];
        fields.ic = (desc[11] & TXD_CMD.IC) !== 0;
      } else {
        fields.popts = desc[13];
        fields.tse = (desc[11] & TUCMD.TSE) !== 0;
      }
    }
    return { ring: 'tx', index, address, fields };
  }

  reset(): void {
    this.epoch++;
    this.held = false;
    this.passedDescProbe = this.passedSendProbe = false;
    this.ctx = emptyContext();
    this.tsoCtx = emptyContext();
    this.size = 0;
    this.popts = 0;
    this.tse = this.started = this.broken = false;
    this.segments = [];
    this.pendingEop = undefined;
    this.cause = 0;
    this.consumed = false;
  }

  save(): TxState {
    const e = this.pendingEop;
    return {
      ctx: { ...this.ctx },
      tsoCtx: { ...this.tsoCtx },
      packet: toBase64(this.packet.subarray(0, this.size)),
      popts: this.popts,
      tse: this.tse,
      started: this.started,
      broken: this.broken,
      segments: this.segments.map(toBase64),
      pendingEop: e ? { index: e.index, address: e.address, cmd: e.cmd, status: e.status } : null,
    };
  }

  /** A held packet is not part of the state: what was queued is sent on the next TDT write. */
  restore(s: TxState): void {
    this.reset();
    this.ctx = { ...emptyContext(), ...s.ctx };
    this.tsoCtx = { ...emptyContext(), ...s.tsoCtx };
    const packet = fromBase64(s.packet);
    this.packet = new Uint8Array(Math.max(2048, packet.length));
    this.packet.set(packet);
    this.size = packet.length;
    this.popts = s.popts | 0;
    this.tse = !!s.tse;
    this.started = !!s.started;
    this.broken = !!s.broken;
    this.segments = (s.segments ?? []).map(fromBase64);
    if (s.pendingEop) {
      const e = s.pendingEop;
      this.pendingEop = { ...e, info: { ring: 'tx', index: e.index, address: e.address, fields: { kind: 'restored' } } };
    }
  }
}

function padded(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(MIN_FRAME);
  out.set(frame);
  return out;
}

/**
 * The Intel 82540EM ("e1000") as the guest's driver sees it: BAR0 registers,
 * the I/O BAR window onto them, the EEPROM and PHY, the TX and RX rings and
 * the interrupt line. It knows nothing of the emulator: the machine gives it a
 * NicBus (DMA and IRQ) and calls the entry points below.
 *
 * A little over the house's ~400 lines: writeRegister is the one map from a
 * register to what writing it does, kept whole so that a reader finds every
 * register's effect in one switch (the engines behind it live in tx.ts,
 * rx.ts, interrupts.ts, eeprom.ts, phy.ts, stats.ts).
 */
import type { NicBus, FrameSink } from './bus';
import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import { zeroCounters, type E1000Counters } from './counters';
import { Eeprom } from './eeprom';
import { DelayedCause, InterruptController } from './interrupts';
import { Phy } from './phy';
import { Refusals } from './refusals';
import { isKnownRegister } from './register-map';
import {
  CTRL,
  ICR,
  RAH_AV,
  RCTL,
  RDTR_FPD,
  REG,
  RING_LEN_MASK,
  STATUS,
} from './registers';
import { RxEngine } from './rx';
import { isStatisticsRegister, Statistics } from './stats';
import type { E1000State } from './state';
import { TxEngine } from './tx';

export type { E1000State } from './state';
export type { E1000Counters } from './counters';

export const E1000_PCI = {
  vendorId: 0x8086,
  deviceId: 0x100e,
  classCode: 0x020000,
  subsystemVendorId: 0x8086,
  subsystemId: 0x001e,
  mmioSize: 0x20000,
  ioSize: 0x40,
};

export interface E1000Options {
  mac: Uint8Array;
  bus: NicBus;
  clock: Clock;
  probes: ProbeHub;
  transmit: FrameSink;
}

const W = (offset: number) => offset >>> 2;
const BAR_MASK = E1000_PCI.mmioSize - 1;
const IOADDR = 0;
const IODATA = 4;
const noop = (): void => {};

export class E1000 {
  private readonly regs = new Uint32Array(E1000_PCI.mmioSize >>> 2);
  private readonly mac: Uint8Array;
  private readonly bus: NicBus;
  private readonly clock: Clock;
  private readonly probes: ProbeHub;
  private readonly transmit: FrameSink;
  private readonly refusalCounts = new Refusals();
  private readonly counters = zeroCounters();
  private readonly eeprom: Eeprom;
  private readonly phy: Phy;
  private readonly statistics: Statistics;
  private readonly interrupts: InterruptController;
  private readonly rxDelay: DelayedCause;
  private readonly txDelay: DelayedCause;
  private readonly tx: TxEngine;
  private readonly rx: RxEngine;
  private link = true;
  private ioAddr = 0;

  constructor(opts: E1000Options) {
    this.mac = Uint8Array.from(opts.mac.subarray(0, 6));
    this.bus = opts.bus;
    this.clock = opts.clock;
    this.probes = opts.probes;
    this.transmit = opts.transmit;
    this.eeprom = new Eeprom(this.mac, this.refusalCounts);
    this.phy = new Phy(this.refusalCounts);
    this.statistics = new Statistics(this.regs);
    this.interrupts = new InterruptController(this.bus, this.clock, this.regs, this.probes.probes.set_ics);
    this.rxDelay = new DelayedCause(this.clock, () => this.interrupts.raise(ICR.RXT0));
    this.txDelay = new DelayedCause(this.clock, () => this.interrupts.raise(ICR.TXDW));
    this.interrupts.delayed = [this.txDelay, this.rxDelay];
    const common = {
      regs: this.regs,
      bus: this.bus,
      probes: this.probes,
      refusals: this.refusalCounts,
      stats: this.statistics,
      counters: this.counters,
      interrupts: this.interrupts,
      linkUp: () => this.link,
    };
    this.rx = new RxEngine({ ...common, rxDelay: this.rxDelay });
    this.tx = new TxEngine({ ...common, txDelay: this.txDelay, output: (f) => this.output(f) });
    this.resetRegisters();
  }

  get linkUp(): boolean {
    return this.link;
  }

  get refusals(): Readonly<Record<string, number>> {
    return this.refusalCounts.counts;
  }

  get stats(): Readonly<E1000Counters> {
    this.counters.interrupts = this.interrupts.asserted;
    return this.counters;
  }

  /** Set to be told of each refusal as it happens (e.g. to log the first of each kind). */
  set onRefuse(fn: ((reason: string) => void) | undefined) {
    this.refusalCounts.onRefuse = fn;
  }

  /** The MAC address the EEPROM holds. */
  get macAddress(): Uint8Array {
    return this.mac.slice();
  }

  /** The current level of INTA#. */
  get irqLevel(): boolean {
    return this.interrupts.level;
  }

  // ---- BAR0 ----------------------------------------------------------------

  mmioRead32(offset: number): number {
    offset &= BAR_MASK & ~3;
    const r = this.regs;
    switch (offset) {
      case REG.STATUS:
        return this.status();
      case REG.EECD:
        return this.eeprom.readEecd();
      case REG.EERD:
        return this.eeprom.readEerd();
      case REG.ICR:
        return this.interrupts.readIcr();
      case REG.ICS:
        // Reads as ICR without clearing it (what real parts do).
        return this.interrupts.icr;
      case REG.IMS:
        return this.interrupts.ims;
      case REG.IMC:
        return 0;
      default:
        if (isStatisticsRegister(offset)) return this.statistics.read(offset);
        return r[W(offset)];
    }
  }

  mmioWrite32(offset: number, value: number): void {
    offset &= BAR_MASK & ~3;
    value >>>= 0;
    const followUp = this.writeRegister(offset, value);
    const p = this.probes.probes.e1000_mmio_write;
    // The write has been applied; a hold only defers what it sets off (a TX ring walk).
    if (p.enter() && p.fire({ stage: p.stage, frame: new Uint8Array(0), register: { offset, value, write: true } }, followUp ?? noop)) return;
    followUp?.();
  }

  // ---- I/O BAR: IOADDR selects a register, IODATA reads or writes it -------

  ioRead32(portOffset: number): number {
    switch (portOffset & (E1000_PCI.ioSize - 1) & ~3) {
      case IOADDR:
        return this.ioAddr;
      case IODATA:
        return this.mmioRead32(this.ioAddr);
      default:
        this.refusalCounts.count('io-bar-undefined-offset');
        return 0;
    }
  }

  ioWrite32(portOffset: number, value: number): void {
    switch (portOffset & (E1000_PCI.ioSize - 1) & ~3) {
      case IOADDR:
        this.ioAddr = value & BAR_MASK & ~3;
        return;
      case IODATA:
        this.mmioWrite32(this.ioAddr, value);
        return;
      default:
        this.refusalCounts.count('io-bar-undefined-offset');
    }
  }

  // ---- the network side ----------------------------------------------------

  receive(frame: Uint8Array): boolean {
    return this.rx.receive(frame);
  }

  /** Whether RX buffers wait for a frame of this length (see RxEngine.hasBuffersFor). */
  canReceive(frameLength: number): boolean {
    return this.rx.hasBuffersFor(frameLength);
  }

  /** Called when the guest hands RX buffers back (an RDT write): held frames can flow again. */
  onRxBuffersAvailable: (() => void) | undefined;

  setLinkUp(up: boolean): void {
    if (up === this.link) return;
    this.link = up;
    this.phy.setLink(up);
    this.interrupts.raise(ICR.LSC);
  }

  // ---- whole-device operations ----------------------------------------------

  /** Power-on reset: registers, PHY, EEPROM state machine, rings, interrupts. */
  reset(): void {
    this.phy.reset();
    this.phy.setLink(this.link);
    this.resetRegisters();
  }

  saveState(): E1000State {
    const regs: [number, number][] = [];
    for (let i = 0; i < this.regs.length; i++) if (this.regs[i] !== 0) regs.push([i, this.regs[i]]);
    return {
      version: 1,
      mac: Array.from(this.mac),
      regs,
      eeprom: this.eeprom.save(),
      phy: this.phy.save(),
      linkUp: this.link,
      ioAddr: this.ioAddr,
      interrupts: this.interrupts.save(),
      rxDelay: this.rxDelay.save(),
      txDelay: this.txDelay.save(),
      tx: this.tx.save(),
      counters: { ...this.stats },
      refusals: { ...this.refusalCounts.counts },
    };
  }

  /** Puts the NIC back as saved; the guest's driver carries on without reloading. */
  restoreState(state: E1000State): void {
    if (!state || state.version !== 1) {
      this.refusalCounts.count('restore-unknown-state-version');
      return;
    }
    this.tx.reset();
    this.rx.reset();
    this.rxDelay.cancel();
    this.txDelay.cancel();
    this.regs.fill(0);
    for (const pair of state.regs ?? []) {
      const [i, v] = pair;
      if (Number.isInteger(i) && i >= 0 && i < this.regs.length) this.regs[i] = v >>> 0;
    }
    this.link = state.linkUp !== false;
    this.eeprom.restore(state.eeprom);
    this.phy.restore(state.phy, this.link);
    this.ioAddr = (state.ioAddr >>> 0) & BAR_MASK & ~3;
    this.interrupts.restore(state.interrupts);
    this.rxDelay.restore(state.rxDelay);
    this.txDelay.restore(state.txDelay);
    this.tx.restore(state.tx);
    Object.assign(this.counters, state.counters ?? {});
    this.refusalCounts.clear();
    Object.assign(this.refusalCounts.counts, state.refusals ?? {});
  }

  // ---- internals --------------------------------------------------------------

  private status(): number {
    let s = STATUS.FD | STATUS.SPEED_1000 | STATUS.ASDV_1000 | STATUS.MTXCKOK | STATUS.GIO_MASTER_ENABLE;
    if (this.link) s |= STATUS.LU;
    return s >>> 0;
  }

  /** Applies a register write; returns what it sets off, run after the e1000_mmio_write probe. */
  private writeRegister(offset: number, value: number): (() => void) | undefined {
    const r = this.regs;
    switch (offset) {
      case REG.CTRL:
        if (value & CTRL.RST) {
          // The reset the 82540 driver issues through the I/O BAR.
          this.resetRegisters();
          return undefined;
        }
        if (value & CTRL.PHY_RST) {
          this.phy.reset();
          this.phy.setLink(this.link);
        }
        r[W(offset)] = value & ~(CTRL.RST | CTRL.PHY_RST);
        return undefined;
      case REG.STATUS:
        this.refusalCounts.count('write-to-read-only-register');
        return undefined;
      case REG.EECD:
        this.eeprom.writeEecd(value);
        return undefined;
      case REG.EERD:
        this.eeprom.writeEerd(value);
        return undefined;
      case REG.MDIC: {
        const res = this.phy.mdicWrite(value);
        r[W(offset)] = res.mdic;
        if (res.interrupt) this.interrupts.raise(ICR.MDAC);
        return undefined;
      }
      case REG.ICR:
        this.interrupts.writeIcr(value);
        return undefined;
      case REG.ICS:
        this.interrupts.raise(value);
        return undefined;
      case REG.IMS:
        this.interrupts.writeIms(value);
        return undefined;
      case REG.IMC:
        this.interrupts.writeImc(value);
        return undefined;
      case REG.RCTL:
        if (value & RCTL.BSEX && !(value & RCTL.BSIZE_MASK)) this.refusalCounts.count('rctl-reserved-buffer-size');
        r[W(offset)] = value;
        return undefined;
      case REG.TCTL:
        r[W(offset)] = value;
        return () => this.tx.startXmit();
      case REG.TDLEN:
      case REG.RDLEN:
        if (value & ~RING_LEN_MASK) this.refusalCounts.count('ring-length-not-multiple-of-128');
        r[W(offset)] = value & RING_LEN_MASK;
        return undefined;
      case REG.TDBAL:
      case REG.RDBAL:
        if (value & 0xf) this.refusalCounts.count('ring-base-not-16-byte-aligned');
        r[W(offset)] = value & ~0xf;
        return undefined;
      case REG.TDH:
        this.writeRingIndex(offset, value, this.tx.ring.size, 'tdh-beyond-ring');
        return undefined;
      case REG.RDH:
        this.writeRingIndex(offset, value, this.rx.ring.size, 'rdh-beyond-ring');
        return undefined;
      case REG.RDT:
        if (this.writeRingIndex(offset, value, this.rx.ring.size, 'rdt-beyond-ring')) return this.onRxBuffersAvailable;
        return undefined;
      case REG.TDT:
        if (!this.writeRingIndex(offset, value, this.tx.ring.size, 'tdt-beyond-ring')) return undefined;
        return () => this.tx.startXmit();
      case REG.RDTR:
        r[W(offset)] = value & 0xffff;
        // Flush Partial Descriptor Block: raise a pending receive interrupt now.
        if (value & RDTR_FPD && this.rxDelay.pending) this.rxDelay.flush();
        return undefined;
      case REG.RADV:
      case REG.TIDV:
      case REG.TADV:
      case REG.ITR:
      case REG.VET:
        if (value >>> 16) this.refusalCounts.count('reserved-bits-set');
        r[W(offset)] = value & 0xffff;
        if (offset === REG.ITR) this.interrupts.update();
        return undefined;
      default:
        if (isStatisticsRegister(offset)) {
          this.refusalCounts.count('write-to-read-only-register');
          return undefined;
        }
        if (!isKnownRegister(offset)) this.refusalCounts.count('write-to-unknown-register');
        r[W(offset)] = value;
        return undefined;
    }
  }

  /** Head/tail registers hold 16 bits and must point inside the ring. False when refused (the old value stays). */
  private writeRingIndex(offset: number, value: number, ringSize: number, reason: string): boolean {
    if (value >>> 16) this.refusalCounts.count('reserved-bits-set');
    const index = value & 0xffff;
    if (index !== 0 && index >= ringSize) {
      this.refusalCounts.count(reason);
      return false;
    }
    this.regs[W(offset)] = index;
    return true;
  }

  private output(frame: Uint8Array): void {
    if (this.phy.loopback) {
      this.rx.receive(frame);
      return;
    }
    this.transmit(frame);
  }

  /** Device reset (CTRL.RST): MAC registers to their defaults, the MAC address reloaded from the EEPROM. */
  private resetRegisters(): void {
    this.tx.reset();
    this.rx.reset();
    this.rxDelay.cancel();
    this.txDelay.cancel();
    this.interrupts.reset();
    this.eeprom.reset();
    const r = this.regs;
    r.fill(0);
    r[W(REG.CTRL)] = CTRL.SWDPIN2 | CTRL.SWDPIN0 | CTRL.SPD_1000 | CTRL.SLU | CTRL.FD;
    r[W(REG.PBA)] = 0x0010_0030; // 48 KiB RX, 16 KiB TX packet buffer
    r[W(REG.LEDCTL)] = 0x0000_0602;
    r[W(REG.VET)] = 0x8100;
    r[W(REG.TXCW)] = 0x0000_01a0;
    r[W(REG.MDIC)] = 0x1000_0000; // READY
    const w = this.eeprom.words;
    r[W(REG.RA)] = (w[0] | (w[1] << 16)) >>> 0;
    r[W(REG.RA) + 1] = (w[2] | RAH_AV) >>> 0;
  }
}

/**
 * Test bench for the e1000 model: guest RAM over an ArrayBuffer, a clock that
 * moves only when told, and a driver that programs the NIC the way Linux's
 * e1000 driver does.
 */
import type { NicBus } from '../../../extension/e1000/bus';
import type { Clock, TimerHandle } from '../../../extension/pipeline/clock';
import { ProbeHub } from '../../../extension/pipeline/probe';
import { E1000 } from '../../../extension/e1000/e1000';

export class FakeBus implements NicBus {
  readonly mem: Uint8Array;
  irq = false;
  irqEdges = 0;
  constructor(readonly ramSize = 1 << 20) {
    this.mem = new Uint8Array(ramSize);
  }
  dmaRead(addr: number, len: number): Uint8Array | null {
    if (addr < 0 || len < 0 || addr + len > this.ramSize) return null;
    return this.mem.subarray(addr, addr + len);
  }
  dmaWrite(addr: number, data: Uint8Array): boolean {
    if (addr < 0 || addr + data.length > this.ramSize) return false;
    this.mem.set(data, addr);
    return true;
  }
  setIrq(level: boolean): void {
    if (level && !this.irq) this.irqEdges++;
    this.irq = level;
  }
}

interface Timer {
  id: number;
  due: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t = 0;
  private nextId = 1;
  private timers = new Map<number, Timer>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, due: this.t + Math.max(0, ms), fn };
    this.timers.set(timer.id, timer);
    return { id: timer.id };
  }
  clearTimeout(h: TimerHandle): void {
    this.timers.delete(h.id);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time on by `ms`, running timers in due order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const tm of this.timers.values()) if (tm.due <= end && (!next || tm.due < next.due)) next = tm;
      if (!next) break;
      this.timers.delete(next.id);
      this.t = next.due;
      next.fn();
    }
    this.t = end;
  }
}

export const MAC = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

// Guest memory layout.
export const TX_RING = 0x10000;
export const TX_BUFS = 0x20000;
export const RX_RING = 0x40000;
export const RX_BUFS = 0x50000;

export const R = {
  CTRL: 0x0000, STATUS: 0x0008, EECD: 0x0010, EERD: 0x0014, MDIC: 0x0020, VET: 0x0038,
  ICR: 0x00c0, ITR: 0x00c4, ICS: 0x00c8, IMS: 0x00d0, IMC: 0x00d8, RCTL: 0x0100, TCTL: 0x0400,
  RDBAL: 0x2800, RDBAH: 0x2804, RDLEN: 0x2808, RDH: 0x2810, RDT: 0x2818, RDTR: 0x2820, RADV: 0x282c,
  TDBAL: 0x3800, TDBAH: 0x3804, TDLEN: 0x3808, TDH: 0x3810, TDT: 0x3818, TIDV: 0x3820, TADV: 0x382c,
  MTA: 0x5200, RA: 0x5400, VFTA: 0x5600,
  GPRC: 0x4074, GPTC: 0x4080, GORCL: 0x4088, GORCH: 0x408c, GOTCL: 0x4090, GOTCH: 0x4094,
  TPR: 0x40d0, TPT: 0x40d4, RNBC: 0x40a0, MPC: 0x4010, BPRC: 0x4078, MPRC: 0x407c, PRC64: 0x405c, PTC64: 0x40d8,
  ROC: 0x40ac, TSCTC: 0x40f8,
} as const;

export const ICR_BITS = { TXDW: 1, TXQE: 2, LSC: 4, RXDMT0: 0x10, RXO: 0x40, RXT0: 0x80, MDAC: 0x200 } as const;

export interface Bench {
  nic: E1000;
  bus: FakeBus;
  clock: FakeClock;
  probes: ProbeHub;
  sent: Uint8Array[];
  drv: Driver;
}

/** A bench whose driver has reset the NIC and set up 8-descriptor TX and RX rings. */
export function readyBench(): Bench {
  const b = bench();
  b.drv.reset();
  b.drv.setupTx(8);
  b.drv.setupRx(8);
  return b;
}

export function bench(opts: { ramSize?: number } = {}): Bench {
  const bus = new FakeBus(opts.ramSize);
  const clock = new FakeClock();
  const probes = new ProbeHub();
  const sent: Uint8Array[] = [];
  const nic = new E1000({ mac: MAC, bus, clock, probes, transmit: (f) => sent.push(f.slice()) });
  return { nic, bus, clock, probes, sent, drv: new Driver(nic, bus) };
}

export class Driver {
  txCount = 0;
  rxCount = 0;
  rxBufSize = 2048;
  private tdt = 0;
  constructor(readonly nic: E1000, readonly bus: FakeBus) {}

  r(off: number): number {
    return this.nic.mmioRead32(off) >>> 0;
  }
  w(off: number, v: number): void {
    this.nic.mmioWrite32(off, v >>> 0);
  }

  /** e1000_reset_hw for the 82540: mask, stop RX/TX, CTRL.RST through the I/O BAR, clear ICR. */
  reset(): void {
    this.w(R.IMC, 0xffffffff);
    this.w(R.RCTL, 0);
    this.w(R.TCTL, 0x8);
    const ctrl = this.r(R.CTRL);
    this.nic.ioWrite32(0, R.CTRL);
    this.nic.ioWrite32(4, ctrl | (1 << 26));
    this.w(R.IMC, 0xffffffff);
    this.r(R.ICR);
  }

  private eecd(v: number): void {
    this.w(R.EECD, v);
  }

  /** e1000_read_eeprom for a Microwire part: REQ/GNT, CS, "110" + 6 address bits, 16 data bits in. */
  readEepromBitBang(addr: number): number {
    const SK = 1, CS = 2, DI = 4, DO = 8, REQ = 0x40, GNT = 0x80;
    let e = this.r(R.EECD) | REQ;
    this.eecd(e);
    if (!(this.r(R.EECD) & GNT)) throw new Error('no EEPROM grant');
    e &= ~(DI | SK);
    this.eecd(e);
    e |= CS;
    this.eecd(e);
    const out = (data: number, bits: number) => {
      for (let mask = 1 << (bits - 1); mask; mask >>>= 1) {
        e = data & mask ? e | DI : e & ~DI;
        this.eecd(e);
        this.eecd(e | SK);
        this.eecd(e);
      }
      e &= ~DI;
      this.eecd(e);
    };
    out(0b110, 3);
    out(addr, 6);
    let word = 0;
    for (let i = 0; i < 16; i++) {
      this.eecd(e | SK);
      word = (word << 1) | (this.r(R.EECD) & DO ? 1 : 0);
      this.eecd(e);
    }
    // Standby, then release the part.
    e &= ~(CS | SK);
    this.eecd(e);
    this.eecd(e & ~REQ);
    return word;
  }

  readEepromEerd(addr: number): number {
    this.w(R.EERD, (addr << 8) | 1);
    const v = this.r(R.EERD);
    if (!(v & 0x10)) throw new Error('EERD not done');
    return v >>> 16;
  }

  mdicRead(reg: number, phy = 1): number {
    this.w(R.MDIC, (reg << 16) | (phy << 21) | (2 << 26));
    const v = this.r(R.MDIC);
    if (!(v & (1 << 28))) throw new Error('MDIC not ready');
    if (v & (1 << 30)) return -1;
    return v & 0xffff;
  }

  mdicWrite(reg: number, data: number): void {
    this.w(R.MDIC, (reg << 16) | (1 << 21) | (1 << 26) | data);
  }

  setupTx(count = 8): void {
    this.txCount = count;
    this.tdt = 0;
    this.w(R.TDBAL, TX_RING);
    this.w(R.TDBAH, 0);
    this.w(R.TDLEN, count * 16);
    this.w(R.TDH, 0);
    this.w(R.TDT, 0);
    this.w(R.TCTL, 0x2 | 0x8 | (0x0f << 4) | (0x40 << 12)); // EN, PSP, CT, COLD
  }

  /** RX ring with every descriptor given a buffer; RDT one behind the head as Linux leaves it. */
  setupRx(count = 8, rctlExtra = 0, bufSize = 2048): void {
    this.rxCount = count;
    this.rxBufSize = bufSize;
    this.w(R.RDBAL, RX_RING);
    this.w(R.RDBAH, 0);
    this.w(R.RDLEN, count * 16);
    for (let i = 0; i < count; i++) {
      const d = new DataView(this.bus.mem.buffer, RX_RING + i * 16, 16);
      d.setUint32(0, RX_BUFS + i * 0x4000, true);
      d.setUint32(4, 0, true);
      d.setUint32(8, 0, true);
      d.setUint32(12, 0, true);
    }
    this.w(R.RDH, 0);
    this.w(R.RDT, count - 1);
    this.w(R.RCTL, 0x2 | 0x8000 | rctlExtra); // EN, BAM
  }

  rxDesc(i: number): { length: number; status: number; errors: number; special: number; buffer: number } {
    const d = new DataView(this.bus.mem.buffer, RX_RING + i * 16, 16);
    return { buffer: d.getUint32(0, true), length: d.getUint16(8, true), status: d.getUint8(12), errors: d.getUint8(13), special: d.getUint16(14, true) };
  }

  rxData(i: number, len: number): Uint8Array {
    return this.bus.mem.slice(RX_BUFS + i * 0x4000, RX_BUFS + i * 0x4000 + len);
  }

  /** Writes a raw descriptor at ring slot `i`. */
  putTxDesc(i: number, bytes: Uint8Array): void {
    this.bus.mem.set(bytes, TX_RING + i * 16);
  }

  txStatus(i: number): number {
    return this.bus.mem[TX_RING + i * 16 + 12];
  }

  /** Copies `data` into the buffer for slot `i` and returns its address. */
  putTxBuf(i: number, data: Uint8Array): number {
    const addr = TX_BUFS + i * 0x1000;
    this.bus.mem.set(data, addr);
    return addr;
  }

  bumpTdt(n: number): void {
    this.tdt = (this.tdt + n) % this.txCount;
    this.w(R.TDT, this.tdt);
  }

  /** Adopts a tail the NIC already has (after a restore). */
  setupTxTail(tdt: number): void {
    this.tdt = tdt;
  }

  get tail(): number {
    return this.tdt;
  }
}

export function legacyDesc(addr: number, len: number, cmd: number, opts: { cso?: number; css?: number; special?: number } = {}): Uint8Array {
  const b = new Uint8Array(16);
  const d = new DataView(b.buffer);
  d.setUint32(0, addr, true);
  d.setUint16(8, len, true);
  b[10] = opts.cso ?? 0;
  b[11] = cmd;
  b[13] = opts.css ?? 0;
  d.setUint16(14, opts.special ?? 0, true);
  return b;
}

export function contextDesc(c: { ipcss: number; ipcso: number; ipcse: number; tucss: number; tucso: number; tucse: number; paylen?: number; tucmd: number; hdrLen?: number; mss?: number }): Uint8Array {
  const b = new Uint8Array(16);
  const d = new DataView(b.buffer);
  b[0] = c.ipcss;
  b[1] = c.ipcso;
  d.setUint16(2, c.ipcse, true);
  b[4] = c.tucss;
  b[5] = c.tucso;
  d.setUint16(6, c.tucse, true);
  d.setUint32(8, ((c.paylen ?? 0) & 0xfffff) | ((c.tucmd | 0x20) << 24), true); // DTYP 0, DEXT
  b[13] = c.hdrLen ?? 0;
  d.setUint16(14, c.mss ?? 0, true);
  return b;
}

export function dataDesc(addr: number, len: number, dcmd: number, popts: number, special = 0): Uint8Array {
  const b = new Uint8Array(16);
  const d = new DataView(b.buffer);
  d.setUint32(0, addr, true);
  d.setUint32(8, (len & 0xfffff) | (1 << 20) | ((dcmd | 0x20) << 24), true);
  b[13] = popts;
  d.setUint16(14, special, true);
  return b;
}

export const CMD = { EOP: 1, IFCS: 2, IC: 4, TSE: 4, RS: 8, DEXT: 0x20, VLE: 0x40, IDE: 0x80 } as const;

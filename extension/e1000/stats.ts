import { STAT, STATS_FIRST, STATS_LAST } from './registers';

const W = (offset: number) => offset >>> 2;
const MAX32 = 0xffffffff;

/** The high halves of the 64-bit counters: reading one clears the pair (the low half is read first). */
const HIGH_HALVES = new Set<number>([STAT.GORCH, STAT.GOTCH, STAT.TORH, STAT.TOTH]);
const LOW_HALVES = new Set<number>([STAT.GORCL, STAT.GOTCL, STAT.TORL, STAT.TOTL]);

const PRC = [STAT.PRC64, STAT.PRC127, STAT.PRC255, STAT.PRC511, STAT.PRC1023, STAT.PRC1522];
const PTC = [STAT.PTC64, STAT.PTC127, STAT.PTC255, STAT.PTC511, STAT.PTC1023, STAT.PTC1522];

export function isStatisticsRegister(offset: number): boolean {
  return offset >= STATS_FIRST && offset <= STATS_LAST;
}

function sizeBucket(size: number): number {
  if (size <= 64) return 0;
  if (size <= 127) return 1;
  if (size <= 255) return 2;
  if (size <= 511) return 3;
  if (size <= 1023) return 4;
  return size <= 1522 ? 5 : -1;
}

/**
 * The statistics registers, kept in the MAC register file. Counters saturate
 * rather than wrap (the manual's "sticky at max"), and clear when read.
 */
export class Statistics {
  constructor(private readonly regs: Uint32Array) {}

  inc(offset: number): void {
    const i = W(offset);
    if (this.regs[i] !== MAX32) this.regs[i]++;
  }

  /** Adds to a 64-bit low/high pair, saturating at 2^64 - 1. */
  add64(lowOffset: number, n: number): void {
    const lo = W(lowOffset);
    const hi = lo + 1;
    if (this.regs[lo] === MAX32 && this.regs[hi] === MAX32) return;
    const sum = this.regs[lo] + n;
    if (sum > MAX32) {
      if (this.regs[hi] === MAX32) {
        this.regs[lo] = MAX32;
        return;
      }
      this.regs[hi]++;
    }
    this.regs[lo] = sum >>> 0;
  }

  /** A read of a statistics register: its value, then cleared as the manual says. */
  read(offset: number): number {
    const i = W(offset);
    const v = this.regs[i];
    if (LOW_HALVES.has(offset)) return v;
    this.regs[i] = 0;
    if (HIGH_HALVES.has(offset)) this.regs[i - 1] = 0;
    return v;
  }

  /** One good frame received; `size` counts the FCS. */
  received(dest: Uint8Array, size: number): void {
    this.inc(STAT.GPRC);
    this.inc(STAT.TPR);
    this.add64(STAT.GORCL, size);
    this.add64(STAT.TORL, size);
    const b = sizeBucket(size);
    if (b >= 0) this.inc(PRC[b]);
    if (isBroadcast(dest)) this.inc(STAT.BPRC);
    else if (dest[0] & 1) this.inc(STAT.MPRC);
  }

  /** One frame transmitted; `size` counts the FCS. */
  transmitted(dest: Uint8Array, size: number): void {
    this.inc(STAT.GPTC);
    this.inc(STAT.TPT);
    this.add64(STAT.GOTCL, size);
    this.add64(STAT.TOTL, size);
    const b = sizeBucket(size);
    if (b >= 0) this.inc(PTC[b]);
    if (isBroadcast(dest)) this.inc(STAT.BPTC);
    else if (dest[0] & 1) this.inc(STAT.MPTC);
  }
}

export function isBroadcast(frame: Uint8Array): boolean {
  return (frame[0] & frame[1] & frame[2] & frame[3] & frame[4] & frame[5]) === 0xff;
}

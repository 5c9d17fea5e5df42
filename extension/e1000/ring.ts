import { DESC_SIZE, RING_LEN_MASK } from './registers';

const W = (offset: number) => offset >>> 2;

/** A descriptor ring as its base/length/head/tail registers describe it. */
export class RingRegisters {
  constructor(
    private readonly regs: Uint32Array,
    private readonly bal: number,
    private readonly bah: number,
    private readonly len: number,
    readonly headOffset: number,
    readonly tailOffset: number,
  ) {}

  /** Guest-physical base address (64-bit; anything above 2^53 is outside RAM anyway). */
  get base(): number {
    return this.regs[W(this.bah)] * 0x1_0000_0000 + ((this.regs[W(this.bal)] & ~0xf) >>> 0);
  }

  /** Number of descriptors. */
  get size(): number {
    return (this.regs[W(this.len)] & RING_LEN_MASK) / DESC_SIZE;
  }

  get lengthBytes(): number {
    return this.regs[W(this.len)] & RING_LEN_MASK;
  }

  get head(): number {
    return this.regs[W(this.headOffset)];
  }

  set head(v: number) {
    this.regs[W(this.headOffset)] = v;
  }

  get tail(): number {
    return this.regs[W(this.tailOffset)];
  }

  descriptorAddress(index: number): number {
    return this.base + index * DESC_SIZE;
  }

  /** Head and tail both inside the ring (an empty ring has nothing to walk). */
  get valid(): boolean {
    const n = this.size;
    return n > 0 && this.head < n && this.tail < n;
  }
}

/** Reads a 64-bit little-endian address as a number (exact below 2^53). */
export function readAddress64(d: Uint8Array, at: number): number {
  const lo = (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16) | (d[at + 3] << 24)) >>> 0;
  const hi = (d[at + 4] | (d[at + 5] << 8) | (d[at + 6] << 16) | (d[at + 7] << 24)) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

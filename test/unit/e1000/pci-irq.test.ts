/**
 * The e1000 on v86's PCI bus: when its interrupt line reaches the PIC.
 *
 * v86 delivers an interrupt as soon as the PIC line rises, on the caller's
 * stack. Inside a guest register access that is mid-instruction, which a
 * JIT-compiled block does not survive (the vector is acknowledged, the handler
 * never runs, the guest wedges). So the line may only rise outside accesses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plugE1000 } from '../../../extension/machine/e1000-pci';
import type { IoHandlers, MmioHandlers, PciDeviceSpec, V86Machine } from '../../../extension/machine/v86-adapter';
import { ProbeHub } from '../../../extension/pipeline/probe';
import { CMD, FakeClock, ICR_BITS, legacyDesc, MAC, R, RX_BUFS, RX_RING, TX_BUFS, TX_RING } from './harness';
import { ethFrame } from './packets';

const MMIO_BASE = 0xfea00000;
const IO_BASE = 0x0e00;

/** Just enough of V86Machine for plugE1000, with a PIC that notes when the line moves. */
class FakeMachine {
  readonly mem = new Uint8Array(1 << 20);
  mmio!: MmioHandlers;
  io!: IoHandlers;
  /** Depth of guest accesses on the stack, as v86's CPU would be mid-instruction. */
  inAccess = 0;
  readonly pic = { level: false, raises: 0, lowers: 0, raisesInsideAccess: 0 };

  get ramSize(): number {
    return this.mem.length;
  }
  readGuest(addr: number, len: number): Uint8Array {
    return this.mem.subarray(addr, addr + len);
  }
  writeGuest(addr: number, data: Uint8Array): void {
    this.mem.set(data, addr);
  }
  registerMmio(_base: number, _size: number, h: MmioHandlers): void {
    this.mmio = h;
  }
  registerIo(_port: number, _size: number, h: IoHandlers): void {
    this.io = h;
  }
  registerPciDevice(spec: PciDeviceSpec) {
    return {
      raiseIrq: () => {
        this.pic.raises++;
        if (this.inAccess) this.pic.raisesInsideAccess++;
        this.pic.level = true;
      },
      lowerIrq: () => {
        this.pic.lowers++;
        this.pic.level = false;
      },
      configSpace: spec.configSpace,
    };
  }

  /** One guest instruction: a 32-bit MMIO write or read. */
  w(off: number, v: number): void {
    this.inAccess++;
    try {
      this.mmio.write32(MMIO_BASE + off, v >>> 0);
    } finally {
      this.inAccess--;
    }
  }
  r(off: number): number {
    this.inAccess++;
    try {
      return this.mmio.read32(MMIO_BASE + off) >>> 0;
    } finally {
      this.inAccess--;
    }
  }
  ioWrite(off: number, v: number): void {
    this.inAccess++;
    try {
      this.io.write32(IO_BASE + off, v >>> 0);
    } finally {
      this.inAccess--;
    }
  }
}

/** The end of v86's time slice: queued microtasks run. */
const endOfSlice = () => new Promise<void>((resolve) => setImmediate(resolve));

function plugged() {
  const m = new FakeMachine();
  const sent: Uint8Array[] = [];
  const { nic } = plugE1000(m as unknown as V86Machine, { mac: MAC, clock: new FakeClock(), probes: new ProbeHub(), transmit: (f) => sent.push(f.slice()) });
  // e1000_reset_hw then e1000_configure, as Linux does them; ITR 0 so no throttle gets in the way.
  m.w(R.IMC, 0xffffffff);
  m.ioWrite(0, R.CTRL);
  m.ioWrite(4, m.r(R.CTRL) | (1 << 26));
  m.r(R.ICR);
  m.w(R.TDBAL, TX_RING);
  m.w(R.TDLEN, 8 * 16);
  m.w(R.TDH, 0);
  m.w(R.TDT, 0);
  m.w(R.TCTL, 0x2 | 0x8);
  const dv = new DataView(m.mem.buffer);
  for (let i = 0; i < 8; i++) dv.setUint32(RX_RING + i * 16, RX_BUFS + i * 0x800, true);
  m.w(R.RDBAL, RX_RING);
  m.w(R.RDLEN, 8 * 16);
  m.w(R.RDH, 0);
  m.w(R.RDT, 7);
  m.w(R.RCTL, 0x2 | 0x8000);
  m.w(R.ITR, 0);
  return { m, nic, sent };
}

const ENABLE = ICR_BITS.RXT0 | ICR_BITS.TXDW | ICR_BITS.RXDMT0 | 0x8 | ICR_BITS.LSC;

test('an IMS write unmasking a pending cause raises the line after the instruction, not inside it', async () => {
  const { m } = plugged();
  m.w(R.ICS, ICR_BITS.LSC); // masked: pending only
  assert.equal(m.pic.raises, 0);
  m.w(R.IMS, ENABLE); // e1000_irq_enable at the end of a NAPI poll, interrupts on
  assert.equal(m.pic.raisesInsideAccess, 0, 'the PIC line rose during the MMIO write');
  assert.equal(m.pic.level, false, 'not yet: the guest is mid-instruction');
  await endOfSlice();
  assert.equal(m.pic.level, true, 'raised once the instruction is over');
  assert.equal(m.pic.raises, 1);
  assert.equal(m.r(R.ICR), ICR_BITS.LSC);
  assert.equal(m.pic.level, false, 'an ICR read lowers the line at once');
});

test('a TDT write whose descriptors complete raises TXDW after the instruction', async () => {
  const { m, sent } = plugged();
  m.w(R.IMS, ENABLE);
  await endOfSlice();
  assert.equal(m.pic.raises, 0);
  const frame = ethFrame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 60, 0x0806);
  m.mem.set(frame, TX_BUFS);
  m.mem.set(legacyDesc(TX_BUFS, frame.length, CMD.EOP | CMD.IFCS | CMD.RS), TX_RING);
  m.w(R.TDT, 1); // a delayed ACK sent from a timer softirq: interrupts on
  assert.equal(sent.length, 1, 'transmitted during the write');
  assert.equal(m.pic.raisesInsideAccess, 0, 'the PIC line rose during the TDT write');
  await endOfSlice();
  assert.equal(m.pic.level, true);
  assert.ok(m.r(R.ICR) & ICR_BITS.TXDW);
  assert.equal(m.pic.level, false);
});

test('a cause read before the slice ends never reaches the PIC; causes from outside the CPU raise at once', async () => {
  const { m, nic } = plugged();
  m.w(R.IMS, ENABLE);
  m.w(R.ICS, ICR_BITS.LSC);
  assert.equal(m.r(R.ICR), ICR_BITS.LSC, 'the driver polled it in the same slice');
  await endOfSlice();
  assert.equal(m.pic.raises, 0, 'no interrupt for a cause already read');
  assert.equal(m.pic.lowers, 0);

  // Frames arrive between the CPU's slices (the net queue's turn of the event loop).
  assert.equal(nic.receive(ethFrame(Array.from(MAC), 60, 0x0800)), true);
  assert.equal(m.pic.level, true, 'RX raises without waiting');
  assert.equal(m.pic.raisesInsideAccess, 0);
  m.r(R.ICR);
  assert.equal(m.pic.level, false);
  assert.deepEqual([m.pic.raises, m.pic.lowers], [1, 1]);
});

test('the line follows the latest level when several accesses change it within one slice', async () => {
  const { m } = plugged();
  m.w(R.ICS, ICR_BITS.LSC);
  m.w(R.IMS, ENABLE); // rise deferred
  m.w(R.IMC, 0xffffffff); // e1000_intr masks before the rise lands
  m.w(R.IMS, ENABLE); // and unmasks again
  assert.equal(m.pic.raises, 0);
  await endOfSlice();
  assert.deepEqual([m.pic.raises, m.pic.lowers, m.pic.level], [1, 0, true], 'one rise, no stray fall');
  // A reset through the I/O BAR drops the line immediately.
  m.ioWrite(0, R.CTRL);
  m.ioWrite(4, m.r(R.CTRL) | (1 << 26));
  assert.equal(m.pic.level, false);
  assert.equal(m.pic.lowers, 1);
});

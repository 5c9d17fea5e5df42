/**
 * The e1000 on v86's PCI bus: how its interrupt line reaches the PIC.
 *
 * v86 delivers an interrupt as soon as the PIC line rises, on the caller's
 * stack. Inside a guest register access that is mid-instruction, which a
 * JIT-compiled block does not survive (the vector is acknowledged, the handler
 * never runs, the guest wedges). So inside an access the line only moves in
 * the PIC without a delivery (setIrqDuringAccess: v86 takes it at its next
 * interrupt window); outside accesses it is raised and lowered directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plugE1000 } from '../../../extension/machine/e1000-pci';
import type { IoHandlers, MmioHandlers, PciDeviceSpec, V86Machine } from '../../../extension/machine/v86-adapter';
import { NetQueue } from '../../../extension/machine/net-queue';
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
  /** raises/lowers: the delivering calls; posted: moves made during an access, which must never deliver. */
  readonly pic = { level: false, raises: 0, lowers: 0, raisesInsideAccess: 0, lowersInsideAccess: 0, posted: 0 };

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
        if (this.inAccess) this.pic.lowersInsideAccess++;
        this.pic.level = false;
      },
      setIrqDuringAccess: (level: boolean) => {
        assert.ok(this.inAccess > 0, 'setIrqDuringAccess outside an access');
        this.pic.posted++;
        this.pic.level = level;
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

function plugged(opts: { echo?: boolean } = {}) {
  const m = new FakeMachine();
  const sent: Uint8Array[] = [];
  const probes = new ProbeHub();
  const queue = new NetQueue(probes);
  const { nic } = plugE1000(m as unknown as V86Machine, {
    mac: MAC,
    clock: new FakeClock(),
    probes,
    transmit: (f) => queue.fromNic(f),
    afterWrite: () => queue.deliverNow(),
  });
  // A backend that records, and answers each frame at once when asked to (as slirp answers a ping to the gateway).
  queue.attachBackend((f) => {
    sent.push(f.slice());
    if (opts.echo) queue.toNic(ethFrame(Array.from(MAC), 60, 0x0800));
  });
  queue.attachNic((f) => nic.receive(f), (len) => nic.canReceive(len));
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
  return { m, nic, sent, queue };
}

/** No delivery ever happened mid-instruction. */
function noDeliveryInside(m: FakeMachine): void {
  assert.equal(m.pic.raisesInsideAccess, 0, 'the PIC delivered a rise during a guest access');
  assert.equal(m.pic.lowersInsideAccess, 0, 'the PIC was lowered with delivery during a guest access');
}

const ENABLE = ICR_BITS.RXT0 | ICR_BITS.TXDW | ICR_BITS.RXDMT0 | 0x8 | ICR_BITS.LSC;

test('an IMS write unmasking a pending cause moves the line during the instruction, without a delivery there', () => {
  const { m } = plugged();
  m.w(R.ICS, ICR_BITS.LSC); // masked: pending only
  assert.equal(m.pic.level, false);
  m.w(R.IMS, ENABLE); // e1000_irq_enable at the end of a NAPI poll, interrupts on
  noDeliveryInside(m);
  assert.equal(m.pic.level, true, 'the PIC holds the level for the next interrupt window');
  assert.equal(m.pic.posted, 1);
  assert.equal(m.r(R.ICR), ICR_BITS.LSC);
  assert.equal(m.pic.level, false, 'an ICR read lowers the line at once');
  noDeliveryInside(m);
});

test('a TDT write whose descriptors complete raises TXDW within the write, for the next interrupt window', () => {
  const { m, sent } = plugged();
  m.w(R.IMS, ENABLE);
  assert.equal(m.pic.level, false);
  const frame = ethFrame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 60, 0x0806);
  m.mem.set(frame, TX_BUFS);
  m.mem.set(legacyDesc(TX_BUFS, frame.length, CMD.EOP | CMD.IFCS | CMD.RS), TX_RING);
  m.w(R.TDT, 1); // a delayed ACK sent from a timer softirq: interrupts on
  assert.equal(sent.length, 1, 'transmitted during the write');
  noDeliveryInside(m);
  assert.equal(m.pic.level, true);
  assert.ok(m.r(R.ICR) & ICR_BITS.TXDW);
  assert.equal(m.pic.level, false);
});

test('a reply the backend gives during a TDT write is in the RX ring, its interrupt pending, when the write returns', () => {
  const { m, sent, queue } = plugged({ echo: true });
  m.w(R.IMS, ENABLE);
  m.w(R.TIDV, 8); // Linux's TIDV and TADV: TXDW would wait on them
  m.w(R.TADV, 32);
  const frame = ethFrame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 60, 0x0800);
  m.mem.set(frame, TX_BUFS);
  m.mem.set(legacyDesc(TX_BUFS, frame.length, CMD.EOP | CMD.IFCS | CMD.RS | CMD.IDE), TX_RING);
  m.w(R.TDT, 1);
  assert.equal(sent.length, 1);
  assert.equal(queue.pending, 0, 'nothing left for a later turn of the event loop');
  assert.equal(m.mem[RX_RING + 12]! & 1, 1, 'the reply was written back (DD) within the write');
  noDeliveryInside(m);
  assert.equal(m.pic.level, true);
  assert.equal(m.pic.posted, 1, 'one rise for the request done and the reply in');
  const icr = m.r(R.ICR);
  assert.ok(icr & ICR_BITS.RXT0, 'RXT0');
  assert.ok(icr & ICR_BITS.TXDW, 'TXDW, waiting on TIDV, came with the same interrupt');
});

test('causes from outside the CPU (frames between time slices) raise the line at once', () => {
  const { m, nic } = plugged();
  m.w(R.IMS, ENABLE);
  assert.equal(nic.receive(ethFrame(Array.from(MAC), 60, 0x0800)), true);
  assert.equal(m.pic.level, true, 'RX raises without waiting');
  assert.equal(m.pic.raises, 1);
  m.r(R.ICR);
  assert.equal(m.pic.level, false);
  noDeliveryInside(m);
});

test('the line follows the latest level when several accesses change it; a reset drops it', () => {
  const { m } = plugged();
  m.w(R.ICS, ICR_BITS.LSC);
  m.w(R.IMS, ENABLE);
  m.w(R.IMC, 0xffffffff); // e1000_intr masks
  assert.equal(m.pic.level, false);
  m.w(R.IMS, ENABLE); // and unmasks again
  assert.equal(m.pic.level, true);
  // A reset through the I/O BAR drops the line.
  m.ioWrite(0, R.CTRL);
  m.ioWrite(4, m.r(R.CTRL) | (1 << 26));
  assert.equal(m.pic.level, false);
  noDeliveryInside(m);
});

/**
 * Plugs our e1000 model onto v86's PCI bus: config space, the 128 KiB MMIO
 * BAR, the I/O BAR (IOADDR/IODATA, how Linux resets the 82540EM), DMA and the
 * interrupt line. See extension/machine/v86-adapter.ts for the v86 side.
 */
import { E1000, E1000_PCI } from '../e1000/e1000';
import type { NicBus } from '../e1000/bus';
import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import type { V86Machine } from './v86-adapter';

/** Fixed: v86 ignores the guest moving memory BARs; 0xFEB00000.. is the VGA ROM. */
const MMIO_BASE = 0xfea00000;
/** Below 0x1000 so that v86 relocates the handlers when SeaBIOS moves the BAR. */
const IO_BASE = 0x0e00;
const PCI_SLOT = 3;
/** Interrupt Cause Read: read-to-clear. */
const ICR_OFFSET = 0xc0;

function configSpace(): Uint8Array {
  const c = new Uint8Array(256);
  const dv = new DataView(c.buffer);
  dv.setUint16(0x00, E1000_PCI.vendorId, true);
  dv.setUint16(0x02, E1000_PCI.deviceId, true);
  // Memory + I/O + bus master, preset: v86 drops 32-bit writes to this register.
  dv.setUint16(0x04, 0x0007, true);
  dv.setUint16(0x06, 0x0000, true);
  c[0x08] = 0x03; // revision, as QEMU's 82540EM
  c[0x09] = E1000_PCI.classCode & 0xff;
  c[0x0a] = (E1000_PCI.classCode >> 8) & 0xff;
  c[0x0b] = (E1000_PCI.classCode >> 16) & 0xff;
  c[0x0e] = 0x00;
  dv.setUint32(0x10, MMIO_BASE, true); // BAR0: 32-bit memory, non-prefetchable
  dv.setUint32(0x14, IO_BASE | 1, true); // BAR1: I/O
  dv.setUint16(0x2c, E1000_PCI.subsystemVendorId, true);
  dv.setUint16(0x2e, E1000_PCI.subsystemId, true);
  c[0x3d] = 1; // INTA#
  return c;
}

/**
 * INTA# as v86's 8259 sees it. v86 acts on a rising line at once, on the
 * caller's stack: pic_set_irq -> handle_irqs -> call_interrupt_vector. Called
 * from a guest register access, that is the middle of the accessing
 * instruction, often inside a JIT-compiled block that does not expect its
 * CPU state to change under it. Seen in the guest: the PIC acknowledged the
 * vector (in-service bits for IRQ 11 and the cascade set) but the handler
 * never reached its EOI or its ICR read, so IRQ 11 and everything behind the
 * cascade (the serial port's IRQ 4 included) stayed blocked: the netdev
 * watchdog reset the NIC to no avail and the shell went silent. The trigger is
 * a TDT write that completes descriptors, or an IMS/ICS write that unmasks a
 * pending cause, while the guest runs with interrupts enabled and ITR has
 * elapsed; frame loss makes that common (the guest then transmits from
 * timers, outside NAPI polls where IMS is masked).
 *
 * Hardware takes interrupts between instructions, so a rise during an access
 * waits until v86 has returned to the event loop (a microtask: the end of its
 * time slice, well under ITR's scale). Lowering stays immediate: it never
 * delivers a vector, and a late fall would let the unmasked level-triggered
 * line fire again for a cause the driver has already read.
 */
class InterruptLine {
  /** The level the device asks for, and the level the PIC was last given. */
  private wanted = false;
  private driven = false;
  private accessDepth = 0;
  private settleQueued = false;

  constructor(private readonly pic: { raise(): void; lower(): void; attached(): boolean }) {}

  set(level: boolean): void {
    this.wanted = level;
    if (level && this.accessDepth > 0) {
      this.queueSettle();
      return;
    }
    this.settle();
  }

  /** Runs a guest register access: rises it causes are deferred until after the instruction. */
  duringAccess<T>(access: () => T): T {
    this.accessDepth++;
    try {
      return access();
    } finally {
      this.accessDepth--;
    }
  }

  private queueSettle(): void {
    if (this.settleQueued) return;
    this.settleQueued = true;
    queueMicrotask(() => {
      this.settleQueued = false;
      this.settle();
    });
  }

  private settle(): void {
    if (this.wanted === this.driven || !this.pic.attached()) return;
    this.driven = this.wanted;
    if (this.driven) this.pic.raise();
    else this.pic.lower();
  }
}

export interface PluggedE1000 {
  readonly nic: E1000;
  /** Guest accesses that were not 32-bit wide, which Linux never does. */
  readonly narrowAccesses: { count: number };
}

export function plugE1000(machine: V86Machine, opts: { mac: Uint8Array; clock: Clock; probes: ProbeHub; transmit: (frame: Uint8Array) => void }): PluggedE1000 {
  let pci: { raiseIrq(): void; lowerIrq(): void } | undefined;
  const line = new InterruptLine({
    raise: () => pci?.raiseIrq(),
    lower: () => pci?.lowerIrq(),
    attached: () => pci !== undefined,
  });
  const bus: NicBus = {
    get ramSize() {
      return machine.ramSize;
    },
    dmaRead: (addr, len) => (addr >= 0 && len >= 0 && addr + len <= machine.ramSize ? machine.readGuest(addr, len) : null),
    dmaWrite: (addr, data) => {
      if (addr < 0 || addr + data.length > machine.ramSize) return false;
      machine.writeGuest(addr, data);
      return true;
    },
    setIrq: (level) => line.set(level),
  };
  const nic = new E1000({ mac: opts.mac, bus, clock: opts.clock, probes: opts.probes, transmit: opts.transmit });
  const narrow = { count: 0 };
  const mmioMask = E1000_PCI.mmioSize - 1;
  const addressSpaceRw = opts.probes.probes.address_space_rw;
  const empty = new Uint8Array(0);

  machine.registerMmio(MMIO_BASE, E1000_PCI.mmioSize, {
    read32: (a) => line.duringAccess(() => nic.mmioRead32(a & mmioMask)),
    write32: (a, v) =>
      line.duringAccess(() => {
        if (addressSpaceRw.enter()) addressSpaceRw.fire({ stage: 'address_space_rw', frame: empty, register: { offset: a & mmioMask, value: v >>> 0, write: true } });
        nic.mmioWrite32(a & mmioMask, v >>> 0);
      }),
    // The 8254x registers are 32 bits wide and Linux only uses 32-bit
    // accesses. A byte read is served from its dword, except ICR whose read
    // clears it; byte writes are refused. Both are counted.
    read8: (a) => {
      narrow.count++;
      const off = a & mmioMask;
      if ((off & ~3) === ICR_OFFSET) return 0;
      return line.duringAccess(() => (nic.mmioRead32(off & ~3) >>> ((off & 3) * 8)) & 0xff);
    },
    write8: () => {
      narrow.count++;
    },
  });

  const ioRead = (port: number): number => line.duringAccess(() => nic.ioRead32((port - IO_BASE) & ~3));
  const ioWrite = (port: number, v: number): void => line.duringAccess(() => nic.ioWrite32((port - IO_BASE) & ~3, v));
  machine.registerIo(IO_BASE, E1000_PCI.ioSize, {
    read32: (port) => ioRead(port),
    write32: (port, v) => ioWrite(port, v >>> 0),
    read16: (port) => (ioRead(port) >>> (((port - IO_BASE) & 2) * 8)) & 0xffff,
    read8: (port) => (ioRead(port) >>> (((port - IO_BASE) & 3) * 8)) & 0xff,
    write16: (port, v) => {
      narrow.count++;
      ioWrite(port, v & 0xffff);
    },
    write8: (port, v) => {
      narrow.count++;
      ioWrite(port, v & 0xff);
    },
  });

  pci = machine.registerPciDevice({
    name: 'e1000',
    slot: PCI_SLOT,
    configSpace: configSpace(),
    bars: [{ size: E1000_PCI.mmioSize }, { size: E1000_PCI.ioSize }],
  });
  return { nic, narrowAccesses: narrow };
}

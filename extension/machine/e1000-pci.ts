/**
 * Plugs our e1000 model onto v86's PCI bus: config space, the 128 KiB MMIO
 * BAR, the I/O BAR (IOADDR/IODATA, how Linux resets the 82540EM), DMA and the
 * interrupt line. See extension/machine/v86-adapter.ts for the v86 side.
 */
import { E1000, E1000_PCI } from '../e1000/e1000';
import type { NicBus } from '../e1000/bus';
import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import type { PciHandle, V86Machine } from './v86-adapter';

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
 * INTA# as v86's 8259 sees it. v86 delivers an interrupt on the raiser's
 * stack: pic_set_irq -> handle_irqs -> call_interrupt_vector. From a guest
 * register access that is the middle of the accessing instruction, often
 * inside a JIT-compiled block that does not expect its CPU state to change
 * under it. Seen in the guest when that was done: the PIC acknowledged the
 * vector (in-service bits for IRQ 11 and the cascade set) but the handler
 * never reached its EOI or its ICR read, so IRQ 11 and everything behind the
 * cascade (the serial port's IRQ 4 included) stayed blocked.
 *
 * Hardware takes interrupts between instructions, and so does this line: a
 * change during an access reaches the PIC at once but without a delivery
 * (PciHandle.setIrqDuringAccess), and v86 takes the interrupt at its next
 * window, microseconds later. It must be that soon: the reply to a frame the
 * guest sends is written to its RX ring inside the same TDT write (the
 * backend answers synchronously), and a guest interrupted right after its
 * send handles the reply before it sleeps, as with its own loopback device;
 * waiting for the end of v86's time slice instead meant the guest first went
 * idle and was woken again, about half of a gateway ping's time. Changes from
 * outside the CPU (frames from host sockets, timers) reach the PIC directly.
 */
class InterruptLine {
  /** The level the PIC was last given. */
  private driven = false;
  private accessDepth = 0;

  constructor(private readonly pic: { raise(): void; lower(): void; setDuringAccess(level: boolean): void; attached(): boolean }) {}

  set(level: boolean): void {
    if (level === this.driven || !this.pic.attached()) return;
    this.driven = level;
    if (this.accessDepth > 0) this.pic.setDuringAccess(level);
    else if (level) this.pic.raise();
    else this.pic.lower();
  }

  /** Runs a guest register access (an instruction of the guest's, under way). */
  duringAccess<T>(access: () => T): T {
    this.accessDepth++;
    try {
      return access();
    } finally {
      this.accessDepth--;
    }
  }
}

export interface PluggedE1000 {
  readonly nic: E1000;
  /** Guest accesses that were not 32-bit wide, which Linux never does. */
  readonly narrowAccesses: { count: number };
}

export interface PlugOptions {
  mac: Uint8Array;
  clock: Clock;
  probes: ProbeHub;
  transmit: (frame: Uint8Array) => void;
  /**
   * Runs at the end of each guest register write, still inside the guest's
   * instruction: what the write set off (a TX ring walk whose frames the
   * backend answered at once) can reach the NIC before the guest goes on.
   */
  afterWrite?: () => void;
}

export function plugE1000(machine: V86Machine, opts: PlugOptions): PluggedE1000 {
  const afterWrite = opts.afterWrite ?? (() => {});
  let pci: PciHandle | undefined;
  const line = new InterruptLine({
    raise: () => pci?.raiseIrq(),
    lower: () => pci?.lowerIrq(),
    setDuringAccess: (level) => pci?.setIrqDuringAccess(level),
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
        afterWrite();
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
  const ioWrite = (port: number, v: number): void =>
    line.duringAccess(() => {
      nic.ioWrite32((port - IO_BASE) & ~3, v);
      afterWrite();
    });
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

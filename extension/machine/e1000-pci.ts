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

export interface PluggedE1000 {
  readonly nic: E1000;
  /** Guest accesses that were not 32-bit wide, which Linux never does. */
  readonly narrowAccesses: { count: number };
}

export function plugE1000(machine: V86Machine, opts: { mac: Uint8Array; clock: Clock; probes: ProbeHub; transmit: (frame: Uint8Array) => void }): PluggedE1000 {
  let pci: { raiseIrq(): void; lowerIrq(): void } | undefined;
  let irqLevel = false;
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
    setIrq: (level) => {
      if (level === irqLevel || !pci) return;
      irqLevel = level;
      if (level) pci.raiseIrq();
      else pci.lowerIrq();
    },
  };
  const nic = new E1000({ mac: opts.mac, bus, clock: opts.clock, probes: opts.probes, transmit: opts.transmit });
  const narrow = { count: 0 };
  const mmioMask = E1000_PCI.mmioSize - 1;
  const addressSpaceRw = opts.probes.probes.address_space_rw;
  const empty = new Uint8Array(0);

  machine.registerMmio(MMIO_BASE, E1000_PCI.mmioSize, {
    read32: (a) => nic.mmioRead32(a & mmioMask),
    write32: (a, v) => {
      if (addressSpaceRw.armed) addressSpaceRw.fire({ stage: 'address_space_rw', frame: empty, register: { offset: a & mmioMask, value: v >>> 0, write: true } });
      nic.mmioWrite32(a & mmioMask, v >>> 0);
    },
    // The 8254x registers are 32 bits wide and Linux only uses 32-bit
    // accesses. A byte read is served from its dword, except ICR whose read
    // clears it; byte writes are refused. Both are counted.
    read8: (a) => {
      narrow.count++;
      const off = a & mmioMask;
      if ((off & ~3) === ICR_OFFSET) return 0;
      return (nic.mmioRead32(off & ~3) >>> ((off & 3) * 8)) & 0xff;
    },
    write8: () => {
      narrow.count++;
    },
  });

  machine.registerIo(IO_BASE, E1000_PCI.ioSize, {
    read32: (port) => nic.ioRead32((port - IO_BASE) & ~3),
    write32: (port, v) => nic.ioWrite32((port - IO_BASE) & ~3, v >>> 0),
    read16: (port) => (nic.ioRead32((port - IO_BASE) & ~3) >>> (((port - IO_BASE) & 2) * 8)) & 0xffff,
    read8: (port) => (nic.ioRead32((port - IO_BASE) & ~3) >>> (((port - IO_BASE) & 3) * 8)) & 0xff,
    write16: (port, v) => {
      narrow.count++;
      nic.ioWrite32((port - IO_BASE) & ~3, v & 0xffff);
    },
    write8: (port, v) => {
      narrow.count++;
      nic.ioWrite32((port - IO_BASE) & ~3, v & 0xff);
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

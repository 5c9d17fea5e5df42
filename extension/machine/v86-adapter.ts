/**
 * The one place that touches v86. Its public API (V86 in v86.d.ts) boots and
 * runs the machine; its internal API (cpu, PCI bus, I/O space), which the
 * d.ts does not declare, lets us plug our own PCI device. Both are wrapped
 * here behind typed methods, and the v86 version is pinned exactly in
 * package.json because the internal names can change between releases.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EFLAGS_IF, guardCpuLoop, type CpuEvent, type V86Loop } from './cpu-guard';

export interface V86MachineOptions {
  bios: Uint8Array;
  vgaBios: Uint8Array;
  bzImage: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
  memoryMiB: number;
  /** v86's own NICs, for comparison benchmarks; 'none' when our e1000 is plugged. */
  builtinNic: 'none' | 'virtio' | 'ne2k';
}

/** A PCI function as v86's bus wants it. */
export interface PciDeviceSpec {
  name: string;
  slot: number;
  configSpace: Uint8Array; // 256 bytes
  bars: Array<{ size: number } | undefined>;
}

export interface PciHandle {
  raiseIrq(): void;
  lowerIrq(): void;
  /**
   * Moves the line from inside a guest instruction (a register access): the
   * PIC takes the level, but the CPU takes the interrupt only at its next
   * interrupt window (sti, popf, iret, an EOI, hlt, or the end of its current
   * batch of instructions, which this also brings forward).
   */
  setIrqDuringAccess(level: boolean): void;
  /** The live config space (the guest's writes to BARs land here). */
  readonly configSpace: Uint8Array;
}

export interface MmioHandlers {
  read8(addr: number): number;
  write8(addr: number, value: number): void;
  read32(addr: number): number;
  write32(addr: number, value: number): void;
}

export interface IoHandlers {
  read8(port: number): number;
  read16(port: number): number;
  read32(port: number): number;
  write8(port: number, value: number): void;
  write16(port: number, value: number): void;
  write32(port: number, value: number): void;
}

// --- the undeclared internals, typed once --------------------------------------
interface V86Bus {
  send(name: string, value: unknown): void;
  register(name: string, fn: (value: any) => void, thisArg?: unknown): void;
}
interface V86Pci {
  register_device(device: { name: string; pci_id: number; pci_space: number[]; pci_bars: Array<{ size: number } | undefined> }): void;
  device_spaces: Int32Array[];
  raise_irq(pciId: number): void;
  lower_irq(pciId: number): void;
}
interface V86Io {
  mmap_register(base: number, size: number, r8: (a: number) => number, w8: (a: number, v: number) => void, r32: (a: number) => number, w32: (a: number, v: number) => void): void;
  register_read(port: number, device: object, r8?: () => number, r16?: () => number, r32?: () => number): void;
  register_write(port: number, device: object, w8?: (v: number) => void, w16?: (v: number) => void, w32?: (v: number) => void): void;
}
interface V86Cpu {
  devices: { pci: V86Pci };
  /** EFLAGS (wasm memory); bit 9 is IF. */
  flags: Int32Array;
  /** Instructions run so far; main_loop runs batches of LOOP_COUNTER, then handles interrupts. */
  instruction_counter: Uint32Array;
  io: V86Io;
  memory_size: Uint32Array;
  read_blob(addr: number, len: number): Uint8Array;
  write_blob(data: Uint8Array, addr: number): void;
}
interface V86Emulator {
  v86: V86Loop & { cpu: V86Cpu };
  bus: V86Bus;
  add_listener(event: string, fn: (value: any) => void): void;
  run(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
  is_running(): boolean;
  save_state(): Promise<ArrayBuffer>;
  restore_state(state: ArrayBuffer): Promise<void>;
  serial_send_bytes(port: number, data: Uint8Array): void;
}

/** v86's LOOP_COUNTER (src/rust/cpu/cpu.rs): instructions per batch of do_many_cycles_native. */
const V86_LOOP_COUNTER = 100_003;

const requireHere = createRequire(__filename);

async function v86Module(): Promise<{ V86: new (opts: object) => V86Emulator; wasmPath: string }> {
  // v86 ships as an ES module with its wasm beside it; it stays outside our bundles.
  // A build copies both into dist/v86/ (beside the bundle); from source, use the package.
  const shipped = join(__dirname, 'v86', 'libv86.mjs');
  const main = existsSync(shipped) ? shipped : requireHere.resolve('v86');
  const mod = (await import(pathToFileURL(main).href)) as unknown as { V86: new (opts: object) => V86Emulator };
  return { V86: mod.V86, wasmPath: join(dirname(main), 'v86.wasm') };
}

const toArrayBuffer = (u8: Uint8Array): ArrayBuffer => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;

export class V86Machine {
  private cpuListener: (event: CpuEvent) => void = () => {};

  private constructor(private readonly emu: V86Emulator) {
    guardCpuLoop(emu.v86, (event) => this.cpuListener(event));
  }

  /** The CPU stopped on its own: a guest reset, a halt, or a failure of the emulator (already contained). */
  onCpuEvent(fn: (event: CpuEvent) => void): void {
    this.cpuListener = fn;
  }

  /** Creates the machine with the CPU and devices in place and the BIOS not yet run. */
  static async create(opts: V86MachineOptions): Promise<V86Machine> {
    const { V86, wasmPath } = await v86Module();
    return new Promise((resolve, reject) => {
      let emu: V86Emulator;
      try {
        emu = new V86({
          wasm_path: wasmPath,
          memory_size: opts.memoryMiB * 1024 * 1024,
          vga_memory_size: 2 * 1024 * 1024,
          bios: { buffer: toArrayBuffer(opts.bios) },
          vga_bios: { buffer: toArrayBuffer(opts.vgaBios) },
          bzimage: { buffer: toArrayBuffer(opts.bzImage) },
          initrd: opts.initrd ? { buffer: toArrayBuffer(opts.initrd) } : undefined,
          cmdline: opts.cmdline,
          autostart: false,
          disable_keyboard: true,
          disable_mouse: true,
          disable_speaker: true,
          fastboot: true,
          net_device: { type: opts.builtinNic },
        });
      } catch (e) {
        reject(e);
        return;
      }
      emu.add_listener('emulator-loaded', () => resolve(new V86Machine(emu)));
    });
  }

  run(): Promise<void> {
    return this.emu.run();
  }

  stop(): Promise<void> {
    return this.emu.stop();
  }

  get running(): boolean {
    return this.emu.is_running();
  }

  destroy(): Promise<void> {
    return this.emu.destroy();
  }

  saveState(): Promise<ArrayBuffer> {
    return this.emu.save_state();
  }

  restoreState(state: ArrayBuffer): Promise<void> {
    return this.emu.restore_state(state);
  }

  onSerialByte(fn: (byte: number) => void): void {
    this.emu.add_listener('serial0-output-byte', fn);
  }

  sendSerial(bytes: Uint8Array): void {
    this.emu.serial_send_bytes(0, bytes);
  }

  /** Frames sent by v86's own NIC (virtio or ne2k), for the comparison benchmarks. */
  onBuiltinNicFrame(fn: (frame: Uint8Array) => void): void {
    this.emu.add_listener('net0-send', fn);
  }

  sendToBuiltinNic(frame: Uint8Array): void {
    this.emu.bus.send('net0-receive', frame);
  }

  get ramSize(): number {
    return this.emu.v86.cpu.memory_size[0];
  }

  /** A view into guest RAM (valid until the next guest step): copy it to keep it. */
  readGuest(addr: number, len: number): Uint8Array {
    return this.emu.v86.cpu.read_blob(addr, len);
  }

  /** Writes guest RAM and invalidates the JIT's code cache for those pages. */
  writeGuest(addr: number, data: Uint8Array): void {
    this.emu.v86.cpu.write_blob(data, addr);
  }

  /**
   * Registers I/O port handlers. Call before registerPciDevice for an I/O BAR:
   * v86 relocates the ports when the BIOS moves the BAR, only for ports below 0x1000 originally.
   */
  registerIo(port: number, size: number, h: IoHandlers): void {
    const io = this.emu.v86.cpu.io;
    const owner = {};
    for (let p = port; p < port + size; p++) {
      const off = p;
      io.register_read(off, owner, () => h.read8(off), () => h.read16(off), () => h.read32(off));
      io.register_write(off, owner, (v) => h.write8(off, v), (v) => h.write16(off, v), (v) => h.write32(off, v));
    }
  }

  /** Maps an MMIO range; addresses reach the handlers as unsigned 32-bit numbers. */
  registerMmio(base: number, size: number, h: MmioHandlers): void {
    this.emu.v86.cpu.io.mmap_register(
      base,
      size,
      (a) => h.read8(a >>> 0),
      (a, v) => h.write8(a >>> 0, v),
      (a) => h.read32(a >>> 0),
      (a, v) => h.write32(a >>> 0, v),
    );
  }

  registerPciDevice(spec: PciDeviceSpec): PciHandle {
    const pci = this.emu.v86.cpu.devices.pci;
    const pciId = spec.slot << 3;
    pci.register_device({ name: spec.name, pci_id: pciId, pci_space: Array.from(spec.configSpace), pci_bars: spec.bars });
    const space = pci.device_spaces[pciId];
    const cpu = this.emu.v86.cpu;
    return {
      raiseIrq: () => pci.raise_irq(pciId),
      lowerIrq: () => pci.lower_irq(pciId),
      setIrqDuringAccess: (level) => {
        // v86 delivers a pending interrupt on the raiser's stack when IF is set
        // (device_raise_irq -> handle_irqs), which mid-instruction in a JIT block
        // the guest does not survive. With IF clear for the call the PIC only
        // records the level, as for a guest running with interrupts off.
        const flags = cpu.flags;
        const saved = flags[0]! & EFLAGS_IF;
        flags[0] = flags[0]! & ~EFLAGS_IF;
        try {
          if (level) pci.raise_irq(pciId);
          else pci.lower_irq(pciId);
        } finally {
          flags[0] = flags[0]! | saved;
        }
        // End the current batch at the next block boundary, where main_loop handles interrupts.
        if (level) cpu.instruction_counter[0] = (cpu.instruction_counter[0]! + V86_LOOP_COUNTER) >>> 0;
      },
      configSpace: new Uint8Array(space.buffer, space.byteOffset, space.byteLength),
    };
  }
}

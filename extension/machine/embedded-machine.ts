/**
 * The embedded engine: the bundled (or a given) i386 Linux under v86, our
 * e1000 on its PCI bus, our slirp behind it, and the serial console as a
 * byte stream. Runs headless in Node: the CLI, the tests and the debug
 * adapter all use this same class.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { PausableClock } from '../pipeline/clock';
import { ProbeHub } from '../pipeline/probe';
import type { E1000 } from '../e1000/e1000';
import { DEFAULT_SLIRP_CONFIG, forBundledGuest, type SlirpConfig } from '../slirp/config';
import { Slirp } from '../slirp/slirp';
import { plugE1000 } from './e1000-pci';
import { bundledGuest, GUEST_PROMPT, GUEST_READY, readFileOrExplain } from './guest-image';
import { NetQueue } from './net-queue';
import { SerialConsole } from './serial-console';
import { loadSnapshot, saveSnapshot, snapshotKey } from './snapshot-cache';
import { V86Machine } from './v86-adapter';

export type NicModel = 'e1000' | 'virtio' | 'ne2k' | 'none';

export interface EmbeddedOptions {
  /** Paths as QEMU's -kernel / -initrd; the bundled guest when unset. */
  kernel?: string;
  initrd?: string;
  /** Kernel command line (QEMU's -append). */
  append?: string;
  /** Guest RAM in MiB (QEMU's -m). */
  memoryMiB?: number;
  nic?: NicModel;
  mac?: string;
  netdev?: SlirpConfig;
  /** 'use' restores a cached post-boot snapshot when one exists and takes one after a cold boot. */
  snapshot?: 'use' | 'off';
  /** Progress for anything slow (booting, restoring, saving a snapshot). */
  onProgress?: (message: string) => void;
  /** How long a cold boot may take before it is reported as failed. */
  bootTimeoutMs?: number;
  /** Messages of the network stack (unsupported options, upstream DNS changes...). */
  onLog?: (message: string) => void;
  /** Serial output from the first byte (boot log included), before start() resolves. */
  onSerial?: (chunk: Uint8Array) => void;
}

export const DEFAULT_APPEND = 'console=ttyS0 quiet tsc=reliable';
export const DEFAULT_MAC = '52:54:00:12:34:56';
const DEFAULT_MEMORY_MIB = 128;

export interface BootInfo {
  /** Milliseconds from start() until the shell prompt (or the machine running, for a foreign guest). */
  ms: number;
  restored: boolean;
  snapshotFile?: string;
}

export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(text);
  if (!m) throw new Error(`bad MAC address '${text}': expected six hex pairs like 52:54:00:12:34:56`);
  return Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
}

function v86Version(): string {
  try {
    return createRequire(__filename)('v86/package.json').version;
  } catch {
    return 'unknown';
  }
}

export class EmbeddedMachine extends EventEmitter<{ paused: []; resumed: []; exit: [] }> {
  readonly probes = new ProbeHub();
  readonly clock = new PausableClock();
  readonly netQueue = new NetQueue(this.probes);
  readonly serial: SerialConsole;
  nic?: E1000;
  slirp?: Slirp;
  bootInfo: BootInfo = { ms: 0, restored: false };
  private stopped = false;
  private pausedInput: Uint8Array[] = [];

  private constructor(private readonly machine: V86Machine, readonly options: EmbeddedOptions) {
    super();
    // Input typed while the VM is paused waits here: a stopped UART would lose it.
    this.serial = new SerialConsole({
      send: (b) => (this.paused ? this.pausedInput.push(b.slice()) : machine.sendSerial(b)),
      onByte: (fn) => machine.onSerialByte(fn),
    });
    if (options.onSerial) this.serial.on('data', options.onSerial);
  }

  /** Whether the guest is the bundled one (whose prompt we know, so it can be snapshotted). */
  get bundled(): boolean {
    return !this.options.kernel && !this.options.initrd;
  }

  static async start(options: EmbeddedOptions = {}): Promise<EmbeddedMachine> {
    const t0 = performance.now();
    const guest = bundledGuest();
    const bzImage = readFileOrExplain(options.kernel ?? guest.bzImage, 'kernel');
    const initrd = options.initrd || !options.kernel ? readFileOrExplain(options.initrd ?? guest.initrd, 'initrd') : undefined;
    const bios = readFileOrExplain(guest.bios, 'BIOS');
    const vgaBios = readFileOrExplain(guest.vgaBios, 'VGA BIOS');
    const append = options.append ?? DEFAULT_APPEND;
    const memoryMiB = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
    const nicModel = options.nic ?? 'e1000';
    if (!(memoryMiB >= 16 && memoryMiB <= 2048)) throw new Error(`memory ${memoryMiB} MiB is out of range: the embedded engine takes 16 to 2048 MiB`);

    const machine = await V86Machine.create({
      bios,
      vgaBios,
      bzImage,
      initrd,
      cmdline: append,
      memoryMiB,
      // Our e1000 is plugged separately; v86's own NICs only when asked for (benchmarks).
      builtinNic: nicModel === 'e1000' ? 'none' : nicModel,
    });
    const vm = new EmbeddedMachine(machine, options);
    try {
      await vm.boot(t0, { bzImage, initrd, bios, vgaBios, append, memoryMiB, nicModel });
    } catch (e) {
      await vm.stop().catch(() => {});
      throw e;
    }
    return vm;
  }

  /** Boots cold or restores the snapshot; everything in `g` shapes the snapshot key. */
  private async boot(
    t0: number,
    g: { bzImage: Uint8Array; initrd?: Uint8Array; bios: Uint8Array; vgaBios: Uint8Array; append: string; memoryMiB: number; nicModel: NicModel },
  ): Promise<void> {
    const { options, machine } = this;
    const progress = options.onProgress ?? (() => {});
    const { bzImage, initrd, bios, vgaBios, append, memoryMiB, nicModel } = g;
    const mac = parseMac(options.mac ?? DEFAULT_MAC);
    const netdev = options.netdev ?? DEFAULT_SLIRP_CONFIG;
    this.wireNetwork(nicModel, mac, this.bundled ? forBundledGuest(netdev) : netdev);
    // hostfwd rules bind now: a port in use fails the start with the reason.
    await this.slirp?.start();

    const key = snapshotKey([bzImage, initrd ?? '', bios, vgaBios, append, String(memoryMiB), nicModel, options.mac ?? DEFAULT_MAC, v86Version()]);
    const useSnapshot = (options.snapshot ?? 'use') === 'use' && this.bundled;
    const snap = useSnapshot ? loadSnapshot(key) : undefined;
    if (snap) {
      progress('restoring the guest from its snapshot');
      await machine.restoreState(snap.machine);
      if (this.nic && snap.devices.e1000) this.nic.restoreState(snap.devices.e1000 as never);
      // The console shows the boot that led to this state, then the fresh prompt below.
      if (snap.console) this.serial.replay(Buffer.from(snap.console, 'latin1'));
      await machine.run();
      // A fresh prompt proves the restored shell is alive.
      const prompt = this.serial.waitFor(GUEST_PROMPT, 30_000, 'the shell prompt after restore');
      this.serial.write('\n');
      await prompt;
      this.bootInfo = { ms: performance.now() - t0, restored: true };
      return;
    }

    progress('booting the guest');
    await machine.run();
    if (this.bundled) {
      const timeout = options.bootTimeoutMs ?? 180_000;
      await this.serial.waitForAny(GUEST_READY, timeout, 'the guest to boot');
      await this.serial.waitForAny(GUEST_PROMPT, 30_000, 'the shell prompt');
      this.bootInfo = { ms: performance.now() - t0, restored: false };
      if (useSnapshot) {
        progress('saving a snapshot for the next start');
        await machine.stop();
        const state = await machine.saveState();
        const file = saveSnapshot(key, { machine: state, devices: this.nic ? { e1000: this.nic.saveState() } : {}, console: this.serial.recentOutput });
        await machine.run();
        this.bootInfo.snapshotFile = file;
      }
    } else {
      this.bootInfo = { ms: performance.now() - t0, restored: false };
    }
  }

  private wireNetwork(nicModel: NicModel, mac: Uint8Array, netdev: SlirpConfig): void {
    if (nicModel === 'none') return;
    const q = this.netQueue;
    if (nicModel === 'e1000') {
      const plugged = plugE1000(this.machine, { mac, clock: this.clock, probes: this.probes, transmit: (f) => q.fromNic(f) });
      this.nic = plugged.nic;
      q.attachNic((f) => plugged.nic.receive(f), (len) => plugged.nic.canReceive(len));
      plugged.nic.onRxBuffersAvailable = () => q.nicReady();
    } else {
      this.machine.onBuiltinNicFrame((f) => q.fromNic(f));
      q.attachNic((f) => {
        this.machine.sendToBuiltinNic(f);
        return true;
      });
    }
    this.slirp = new Slirp({ config: netdev, clock: this.clock, probes: this.probes, output: (f) => q.toNic(f), guestMac: mac, log: this.options.onLog });
    const slirp = this.slirp;
    q.attachBackend((f) => slirp.input(f));
  }

  get paused(): boolean {
    return this.clock.paused;
  }

  /** Stops the guest CPU, the stack's timers and its host sockets: nothing moves, nothing times out. */
  async pause(): Promise<void> {
    if (this.paused || this.stopped) return;
    this.clock.pause();
    this.slirp?.pause();
    await this.machine.stop();
    this.emit('paused');
  }

  async resume(): Promise<void> {
    if (!this.paused || this.stopped) return;
    this.clock.resume();
    this.slirp?.resume();
    await this.machine.run();
    const input = this.pausedInput;
    this.pausedInput = [];
    for (const b of input) this.machine.sendSerial(b);
    this.emit('resumed');
  }

  /** Runs a command in the (bundled) guest's shell. */
  exec(command: string, timeoutMs = 60_000, onOutput?: (text: string) => void) {
    return this.serial.exec(command, timeoutMs, onOutput);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.slirp?.close();
    await this.machine.destroy();
    this.emit('exit');
  }
}

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
import type { CpuEvent } from './cpu-guard';
import { checkEmbeddedKernel } from './kernel-check';
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
  /** A guest reset ends the run instead of booting the guest again (QEMU's -no-reboot). */
  noReboot?: boolean;
  /** A given kernel that prints nothing on the console for this long after a cold boot ends the run; 0: wait forever. */
  silenceLimitS?: number;
}

export const DEFAULT_APPEND = 'console=ttyS0 quiet tsc=reliable';
export const DEFAULT_MAC = '52:54:00:12:34:56';
const DEFAULT_MEMORY_MIB = 128;
/** A kernel silent for this long has no console on ttyS0 or does not run at all. */
export const DEFAULT_SILENCE_LIMIT_S = 30;

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

/** How a run ended on the guest's side (never for a stop() we asked for). */
export interface GuestEnd {
  /** poweroff/halt: the guest turned itself off; reset: it reset with reboots off; failure: the emulator failed; silent: no console output. */
  readonly reason: 'poweroff' | 'reset' | 'failure' | 'silent';
  readonly message: string;
}

/** What shapes a machine (and the snapshot key): kept to build the same machine again on a guest reset. */
interface MachineSpec {
  bzImage: Uint8Array;
  initrd?: Uint8Array;
  bios: Uint8Array;
  vgaBios: Uint8Array;
  append: string;
  memoryMiB: number;
  nicModel: NicModel;
  mac: Uint8Array;
}

export class EmbeddedMachine extends EventEmitter<{ paused: []; resumed: []; exit: []; reset: [message: string]; ended: [GuestEnd] }> {
  readonly probes = new ProbeHub();
  readonly clock = new PausableClock();
  readonly netQueue = new NetQueue(this.probes);
  readonly serial: SerialConsole;
  nic?: E1000;
  slirp?: Slirp;
  bootInfo: BootInfo = { ms: 0, restored: false };
  /** Set once the guest ended the run (power-off, reset with reboots off, emulator failure, silence). */
  end?: GuestEnd;
  /** How many times the guest reset and was booted again. */
  resets = 0;
  private stopped = false;
  private pausedInput: Uint8Array[] = [];
  private serialSink: (byte: number) => void = () => {};
  private consoleSeen = false;
  private silenceTimer?: NodeJS.Timeout;

  private constructor(private machine: V86Machine, private readonly spec: MachineSpec, readonly options: EmbeddedOptions) {
    super();
    // Input typed while the VM is paused waits here: a stopped UART would lose it.
    this.serial = new SerialConsole({
      send: (b) => (this.paused ? this.pausedInput.push(b.slice()) : this.machine.sendSerial(b)),
      onByte: (fn) => (this.serialSink = fn),
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
    const kernelFile = options.kernel ?? guest.bzImage;
    const bzImage = readFileOrExplain(kernelFile, 'kernel');
    checkEmbeddedKernel(bzImage, kernelFile);
    const initrd = options.initrd || !options.kernel ? readFileOrExplain(options.initrd ?? guest.initrd, 'initrd') : undefined;
    const bios = readFileOrExplain(guest.bios, 'BIOS');
    const vgaBios = readFileOrExplain(guest.vgaBios, 'VGA BIOS');
    const append = options.append ?? DEFAULT_APPEND;
    const memoryMiB = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
    const nicModel = options.nic ?? 'e1000';
    if (!(memoryMiB >= 16 && memoryMiB <= 2048)) throw new Error(`memory ${memoryMiB} MiB is out of range: the embedded engine takes 16 to 2048 MiB`);
    const spec: MachineSpec = { bzImage, initrd, bios, vgaBios, append, memoryMiB, nicModel, mac: parseMac(options.mac ?? DEFAULT_MAC) };

    const vm = new EmbeddedMachine(await EmbeddedMachine.createMachine(spec), spec, options);
    try {
      vm.slirp = vm.createSlirp(spec);
      vm.plugMachine();
      // hostfwd rules bind now: a port in use fails the start with the reason.
      await vm.slirp?.start();
      await vm.boot(t0);
    } catch (e) {
      await vm.stop().catch(() => {});
      throw vm.end ? new Error(vm.end.message) : e;
    }
    return vm;
  }

  private static createMachine(spec: MachineSpec): Promise<V86Machine> {
    return V86Machine.create({
      bios: spec.bios,
      vgaBios: spec.vgaBios,
      bzImage: spec.bzImage,
      initrd: spec.initrd,
      cmdline: spec.append,
      memoryMiB: spec.memoryMiB,
      // Our e1000 is plugged separately; v86's own NICs only when asked for (benchmarks).
      builtinNic: spec.nicModel === 'e1000' ? 'none' : spec.nicModel,
    });
  }

  /** Boots cold or restores the snapshot; everything in the spec shapes the snapshot key. */
  private async boot(t0: number): Promise<void> {
    const { options, machine, spec } = this;
    const progress = options.onProgress ?? (() => {});
    const key = snapshotKey([spec.bzImage, spec.initrd ?? '', spec.bios, spec.vgaBios, spec.append, String(spec.memoryMiB), spec.nicModel, options.mac ?? DEFAULT_MAC, v86Version()]);
    const useSnapshot = (options.snapshot ?? 'use') === 'use' && this.bundled;
    const warn = (message: string) => (options.onLog ?? ((m: string) => process.stderr.write(`usernet: ${m}\n`)))(message);
    const loaded = useSnapshot ? loadSnapshot(key) : {};
    if (loaded.warning) warn(loaded.warning);
    const snap = loaded.snapshot;
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
      await this.unlessEnded(prompt);
      this.bootInfo = { ms: performance.now() - t0, restored: true };
      return;
    }

    progress('booting the guest');
    await this.runCold();
    if (this.bundled) {
      const timeout = options.bootTimeoutMs ?? 180_000;
      await this.unlessEnded(this.serial.waitForAny(GUEST_READY, timeout, 'the guest to boot'));
      await this.unlessEnded(this.serial.waitForAny(GUEST_PROMPT, 30_000, 'the shell prompt'));
      this.bootInfo = { ms: performance.now() - t0, restored: false };
      if (useSnapshot) {
        progress('saving a snapshot for the next start');
        await machine.stop();
        const state = await machine.saveState();
        const saved = saveSnapshot(key, { machine: state, devices: this.nic ? { e1000: this.nic.saveState() } : {}, console: this.serial.recentOutput });
        await machine.run();
        if (saved.warning) warn(saved.warning);
        this.bootInfo.snapshotFile = saved.file;
      }
    } else {
      this.bootInfo = { ms: performance.now() - t0, restored: false };
    }
  }

  /**
   * Runs the machine from its BIOS, watching a given kernel for silence (the
   * bundled guest is known to speak; its boot has a timeout of its own).
   */
  private async runCold(): Promise<void> {
    this.consoleSeen = false;
    const limitS = this.options.silenceLimitS ?? DEFAULT_SILENCE_LIMIT_S;
    if (limitS > 0 && !this.bundled) {
      clearTimeout(this.silenceTimer);
      this.silenceTimer = setTimeout(() => {
        if (!this.consoleSeen) this.finish({ reason: 'silent', message: `no console output from the guest in ${limitS} s: is the kernel command line sending it to ttyS0 (console=ttyS0)?` });
      }, limitS * 1000);
      this.silenceTimer.unref?.();
    }
    await this.machine.run();
  }

  /** `work`, or the guest's end (as an error) if that comes first. */
  private unlessEnded<T>(work: Promise<T>): Promise<T> {
    return Promise.race([
      work,
      new Promise<never>((_, reject) => {
        if (this.end) reject(new Error(this.end.message));
        this.once('ended', (end) => reject(new Error(end.message)));
      }),
    ]);
  }

  private createSlirp(spec: MachineSpec): Slirp | undefined {
    if (spec.nicModel === 'none') return undefined;
    const q = this.netQueue;
    const netdev = this.options.netdev ?? DEFAULT_SLIRP_CONFIG;
    const slirp = new Slirp({ config: this.bundled ? forBundledGuest(netdev) : netdev, clock: this.clock, probes: this.probes, output: (f) => q.toNic(f), guestMac: spec.mac, log: this.options.onLog });
    q.attachBackend((f) => slirp.input(f));
    return slirp;
  }

  /** Connects the current v86 machine to the console, the NIC and the CPU events. */
  private plugMachine(): void {
    const { machine, spec } = this;
    machine.onSerialByte((b) => {
      this.consoleSeen = true;
      this.serialSink(b);
    });
    machine.onCpuEvent((event) => this.onCpuEvent(event));
    const q = this.netQueue;
    if (spec.nicModel === 'none') return;
    if (spec.nicModel === 'e1000') {
      const plugged = plugE1000(machine, { mac: spec.mac, clock: this.clock, probes: this.probes, transmit: (f) => q.fromNic(f), afterWrite: () => q.deliverNow() });
      this.nic = plugged.nic;
      q.attachNic((f) => plugged.nic.receive(f), (len) => plugged.nic.canReceive(len));
      plugged.nic.onRxBuffersAvailable = () => q.nicReady();
    } else {
      machine.onBuiltinNicFrame((f) => q.fromNic(f));
      q.attachNic((f) => {
        machine.sendToBuiltinNic(f);
        return true;
      });
    }
  }

  private onCpuEvent(event: CpuEvent): void {
    if (this.stopped) return;
    if (event.kind === 'failure') return this.finish({ reason: 'failure', message: event.message });
    // Without ACPI, Linux turns a power-off into a halt: the two look the same from here.
    if (event.kind === 'halt') return this.finish({ reason: 'poweroff', message: 'the guest powered off (it halted its CPU)' });
    if (this.options.noReboot) return this.finish({ reason: 'reset', message: `${event.message}; the run ends (no-reboot)` });
    void this.reboot(event.message).catch((e: Error) => this.finish({ reason: 'failure', message: `the guest reset and could not boot again: ${e.message}` }));
  }

  /**
   * A guest reset, as on hardware: the same machine from its BIOS, cold (the
   * console shows the second boot). The slirp, its NAT table and host
   * forwards, and the probes (so the breakpoints) carry over, as QEMU's
   * netdev does over a system reset.
   */
  private async reboot(why: string): Promise<void> {
    this.resets++;
    this.emit('reset', why);
    this.options.onLog?.(`${why}; booting the guest again`);
    const old = this.machine;
    await old.destroy();
    const next = await EmbeddedMachine.createMachine(this.spec);
    if (this.stopped) {
      await next.destroy();
      return;
    }
    this.machine = next;
    this.plugMachine();
    await this.runCold();
  }

  /** The guest ended the run: say why, once, then stop. */
  private finish(end: GuestEnd): void {
    if (this.end || this.stopped) return;
    this.end = end;
    this.emit('ended', end);
    void this.stop();
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
    clearTimeout(this.silenceTimer);
    await this.slirp?.close();
    await this.machine.destroy();
    this.emit('exit');
  }
}

/**
 * The QEMU engine: a real qemu-system-x86_64 whose user networking is our
 * slirp over `-netdev stream` (listening before QEMU starts: QEMU 7.2 never
 * reconnects), its serial port on a unix socket, and QMP for stop/cont/quit.
 *
 * QEMU starts frozen (-S) so that nothing the guest prints is lost before the
 * serial socket is connected; `cont` lets it run once everything is wired.
 */
import { EventEmitter } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PausableClock } from '../pipeline/clock';
import { ProbeHub } from '../pipeline/probe';
import type { Slirp } from '../slirp/slirp';
import { GUEST_PROMPT, GUEST_READY } from './guest-image';
import { describeQemuExit, firstErrorLine, GUEST_HALT, type QemuExit } from './qemu-exit';
import { watchForHalt } from './qemu-halt';
import { SerialConsole } from './serial-console';
import { startAttempt, StartFailure, type Attempt, type QemuOptions, type QemuSockets } from './qemu-process';

export type { QemuExit } from './qemu-exit';
export type { QemuAccel, QemuOptions, QemuSockets } from './qemu-process';

export interface QemuBootInfo {
  /** From start() to the shell prompt (bundled guest) or to the VM running. */
  ms: number;
  accelerator: 'kvm' | 'tcg';
}

/** True when this process may open /dev/kvm (QEMU may still fail to use it: start() then falls back to TCG). */
export function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The standard arguments that put serial and QMP on our sockets and network on our slirp. */
export function plumbingArgs(s: QemuSockets, netdevId: string): string[] {
  return [
    '-netdev', `stream,id=${netdevId},server=off,addr.type=unix,addr.path=${s.net}`,
    '-chardev', `socket,id=usernet-serial,path=${s.serial},server=on,wait=off`,
    '-serial', 'chardev:usernet-serial',
    '-qmp', `unix:${s.qmp},server=on,wait=off`,
    '-display', 'none',
    '-monitor', 'none',
  ];
}

type Events = { exit: [QemuExit]; paused: []; resumed: [] };

export class QemuMachine extends EventEmitter<Events> {
  readonly probes: ProbeHub;
  readonly clock: PausableClock;
  readonly serial: SerialConsole;
  readonly program: string;
  bootInfo: QemuBootInfo;
  /** Resolves when QEMU is gone, whether asked to quit or not. */
  readonly exited: Promise<QemuExit>;
  private stopRequested = false;
  private exitInfo: QemuExit | undefined;
  private slirpOfGuest: Slirp | undefined;
  private pausedFlag = false;
  private readonly stopHaltWatch: () => void;

  private constructor(private readonly attempt: Attempt, opts: QemuOptions, program: string, accelerator: 'kvm' | 'tcg', private readonly dir: string) {
    super();
    this.program = program;
    this.probes = opts.probes!;
    this.clock = opts.clock!;
    this.bootInfo = { ms: 0, accelerator };
    this.slirpOfGuest = attempt.slirp;
    const socket = attempt.serialSocket;
    this.serial = new SerialConsole({
      send: (b) => {
        if (!socket.destroyed) socket.write(b);
      },
      onByte: (fn) => socket.on('data', (buf: Buffer) => buf.forEach((b) => fn(b))),
    });
    if (opts.onSerial) this.serial.on('data', opts.onSerial);
    socket.on('error', () => {});
    this.stopHaltWatch = watchForHalt(attempt.qmp, () => this.pausedFlag, () => {
      // Ended as a power-off: QEMU is asked to quit and the exit reports the halt (qemu-exit.ts).
      attempt.shutdownReason = GUEST_HALT;
      attempt.qmp.execute('quit').catch(() => {});
    });
    this.exited = new Promise((resolve) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        this.exitInfo = { code, signal, output: attempt.output.value, requested: this.stopRequested };
        void this.cleanup().then(() => {
          this.emit('exit', this.exitInfo!);
          resolve(this.exitInfo!);
        });
      };
      if (attempt.child.exitCode !== null || attempt.child.signalCode !== null) onExit(attempt.child.exitCode, attempt.child.signalCode);
      else attempt.child.once('exit', onExit);
    });
  }

  /** Our slirp for this guest (set when QEMU connected its netdev). */
  get slirp(): Slirp | undefined {
    return this.slirpOfGuest;
  }

  /** What QEMU printed (for error reports). */
  get errorOutput(): string {
    return this.attempt.output.value;
  }

  get pid(): number | undefined {
    return this.attempt.child.pid;
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  /** Why the guest shut QEMU down, from QMP's SHUTDOWN event ('guest-shutdown', 'guest-reset' with -no-reboot...). */
  get shutdownReason(): string | undefined {
    return this.attempt.shutdownReason;
  }

  /** Resolves with a report when QEMU goes away without being asked to. */
  get died(): Promise<string> {
    return this.exited.then((e) => (e.requested ? new Promise<string>(() => {}) : describeQemuExit(this.program, e)));
  }

  static async start(opts: QemuOptions): Promise<QemuMachine> {
    const t0 = performance.now();
    const progress = opts.onProgress ?? (() => {});
    const log = opts.onLog ?? (() => {});
    const program = opts.qemuPath ?? 'qemu-system-x86_64';
    const full: QemuOptions = { ...opts, probes: opts.probes ?? new ProbeHub(), clock: opts.clock ?? new PausableClock() };
    const dir = mkdtempSync(join(tmpdir(), 'usernet-qemu-'));
    // Fresh names per attempt: a QEMU that aborted leaves its socket files behind.
    const sockets = (n: number): QemuSockets => ({ net: join(dir, `net${n}.sock`), serial: join(dir, `serial${n}.sock`), qmp: join(dir, `qmp${n}.sock`) });

    let kvm = opts.kvm ?? kvmUsable();
    let attempt: Attempt;
    try {
      try {
        progress(`starting ${program}${kvm ? ' with KVM' : ' under TCG'}`);
        // What a KVM attempt says is only worth showing if that attempt is the one that runs.
        const held: string[] = [];
        attempt = await startAttempt(program, full, sockets(1), { kvm }, kvm ? (m) => held.push(m) : log);
        held.forEach(log);
      } catch (e) {
        if (!(kvm && e instanceof StartFailure && e.exitedEarly)) throw e;
        // /dev/kvm may open yet be unusable (nested virtualisation without the MSRs QEMU needs).
        // The reason goes to buildArgs, whose one accelerator message says it and what runs instead.
        kvm = false;
        progress(`starting ${program} under TCG`);
        attempt = await startAttempt(program, full, sockets(2), { kvm: false, kvmFailure: firstErrorLine(e.output) || 'it gave no message' }, log);
      }
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const vm = new QemuMachine(attempt, full, program, kvm ? 'kvm' : 'tcg', dir);
    try {
      if (attempt.frozenByUs) await vm.raceDeath(attempt.qmp.execute('cont'));
      if (opts.waitForPrompt) {
        progress(`booting the guest${kvm ? '' : ' (TCG: slower than KVM)'}`);
        await vm.raceDeath(vm.serial.waitForAny(GUEST_READY, opts.bootTimeoutMs ?? 180_000, 'the guest to boot'));
        await vm.raceDeath(vm.serial.waitForAny(GUEST_PROMPT, 30_000, 'the shell prompt'));
      }
      vm.bootInfo.ms = performance.now() - t0;
      return vm;
    } catch (e) {
      await vm.stop().catch(() => {});
      throw e;
    }
  }

  /** `work`, unless QEMU dies first: then its exit report. */
  raceDeath<T>(work: Promise<T>): Promise<T> {
    const death = this.exited.then((e) => {
      throw new Error(describeQemuExit(this.program, e));
    });
    death.catch(() => {});
    return Promise.race([work, death]);
  }

  status(): Promise<{ running: boolean; status: string }> {
    return this.attempt.qmp.execute('query-status');
  }

  /** Stops the guest CPUs, our stack's timers and its host sockets. */
  async pause(): Promise<void> {
    if (this.pausedFlag || this.exitInfo) return;
    this.pausedFlag = true;
    await this.attempt.qmp.execute('stop');
    this.clock.pause();
    this.slirp?.pause();
    this.emit('paused');
  }

  async resume(): Promise<void> {
    if (!this.pausedFlag || this.exitInfo) return;
    this.pausedFlag = false;
    this.clock.resume();
    this.slirp?.resume();
    await this.attempt.qmp.execute('cont');
    this.emit('resumed');
  }

  exec(command: string, timeoutMs = 60_000, onOutput?: (text: string) => void) {
    return this.raceDeath(this.serial.exec(command, timeoutMs, onOutput));
  }

  /** Asks QEMU to quit, then kills it if it has not gone within `graceMs`; our sockets and files go too. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopRequested = true;
    if (!this.exitInfo) {
      this.attempt.qmp.execute('quit').catch(() => {});
      const timer = setTimeout(() => this.attempt.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  private async cleanup(): Promise<void> {
    this.stopHaltWatch();
    this.attempt.qmp.close();
    this.attempt.serialSocket.destroy();
    await this.attempt.server.close().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

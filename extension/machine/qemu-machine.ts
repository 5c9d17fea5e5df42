/**
 * The QEMU engine: a real qemu-system-x86_64 whose user networking is our
 * slirp over `-netdev stream` (listening before QEMU starts: QEMU 7.2 never
 * reconnects), its serial port on a unix socket, and QMP for stop/cont/quit.
 *
 * QEMU starts frozen (-S) so that nothing the guest prints is lost before the
 * serial socket is connected; `cont` lets it run once everything is wired.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PausableClock } from '../pipeline/clock';
import { ProbeHub } from '../pipeline/probe';
import type { SlirpConfig } from '../slirp/config';
import type { Slirp } from '../slirp/slirp';
import { GUEST_PROMPT, GUEST_READY } from './guest-image';
import { QmpClient, connectWithRetry } from './qmp';
import { describeQemuExit, firstErrorLine, GUEST_HALT, OutputTail, type QemuExit } from './qemu-exit';
import { watchForHalt } from './qemu-halt';
import { SerialConsole } from './serial-console';
import { serveStream, type StreamServer } from './stream-backend';

export type { QemuExit } from './qemu-exit';

export interface QemuSockets {
  net: string;
  serial: string;
  qmp: string;
}

/** Whether to use KVM; after a KVM start failed, QEMU's reason (for the one message about it). */
export interface QemuAccel {
  readonly kvm: boolean;
  readonly kvmFailure?: string;
}

export interface QemuOptions {
  /** qemu-system-x86_64 unless a setting names another binary. */
  qemuPath?: string;
  /** The command line minus the program, given the socket paths and whether to use KVM. */
  buildArgs: (sockets: QemuSockets, accel: QemuAccel) => string[];
  /** Our slirp's configuration; undefined when the guest has no user network. */
  slirp: SlirpConfig | undefined;
  /** QEMU's working directory: relative paths in its arguments start here. */
  cwd?: string;
  /** Try KVM first (default: when /dev/kvm is usable). A KVM start that fails falls back to TCG. */
  kvm?: boolean;
  /** The bundled guest: wait for its shell prompt before start() resolves. */
  waitForPrompt?: boolean;
  /** Shared with a debugger (breakpoints are armed before the guest connects). */
  probes?: ProbeHub;
  clock?: PausableClock;
  /** How long QEMU may take to open its sockets. */
  readyTimeoutMs?: number;
  /** How long the bundled guest may take to reach its prompt. */
  bootTimeoutMs?: number;
  onProgress?: (message: string) => void;
  /** Messages of the network stack and of the engine (KVM fallback...). */
  onLog?: (message: string) => void;
  /** Serial output from the first byte (boot log included), before start() resolves. */
  onSerial?: (chunk: Uint8Array) => void;
}

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

/** Running QEMU processes: killed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

interface Attempt {
  child: ChildProcess;
  server: StreamServer;
  serialSocket: import('node:net').Socket;
  qmp: QmpClient;
  /** QMP's SHUTDOWN reason once the guest asked QEMU to stop. */
  shutdownReason?: string;
  output: OutputTail;
  slirp?: Slirp;
  frozenByUs: boolean;
}

class StartFailure extends Error {
  constructor(message: string, readonly exitedEarly: boolean, readonly output: string) {
    super(message);
  }
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

/** One QEMU process wired to a fresh backend; on failure nothing is left running. */
async function startAttempt(program: string, opts: QemuOptions, sockets: QemuSockets, accel: QemuAccel, log: (m: string) => void): Promise<Attempt> {
  let guestSlirp: Slirp | undefined;
  let guestReady: () => void = () => {};
  let guestFailed: (e: Error) => void = () => {};
  const guestConnected = new Promise<void>((resolve, reject) => {
    guestReady = resolve;
    guestFailed = reject;
  });
  guestConnected.catch(() => {});
  const slirpConfig = opts.slirp;
  const server: StreamServer = !slirpConfig ? { address: '', close: async () => {} } : await serveStream({
    path: sockets.net,
    config: slirpConfig,
    clock: () => opts.clock!,
    probes: () => opts.probes!,
    log,
    onGuest: (s) => {
      guestSlirp = s;
      guestReady();
    },
    onGuestFailed: (e) => guestFailed(new StartFailure(`${e.message}: choose another hostfwd port`, false, '')),
  });

  const args = opts.buildArgs(sockets, accel);
  const frozenByUs = !args.includes('-S');
  const output = new OutputTail();
  let child: ChildProcess;
  try {
    child = spawn(program, frozenByUs ? [...args, '-S'] : args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    await server.close();
    throw new StartFailure(`cannot start ${program}: ${(e as Error).message}`, false, '');
  }
  track(child);
  child.stdout!.setEncoding('utf8').on('data', (d: string) => output.push(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => output.push(d));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ENOENT' ? ' (not found: install qemu-system-x86, or name the binary with --qemu PATH or $USERNET_QEMU)' : '';
      reject(new StartFailure(`cannot start ${program}: ${e.message}${hint}`, false, ''));
    });
    child.once('exit', (code, signal) => {
      // Let the last stderr chunk arrive before quoting it.
      setImmediate(() => reject(new StartFailure(
        `${describeQemuExit(program, { code, signal, output: output.value, requested: false })}\n(it stopped before it was ready)`, true, output.value)));
    });
  });
  failed.catch(() => {});
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  let serialSocket: import('node:net').Socket | undefined;
  let qmp: QmpClient | undefined;
  try {
    [serialSocket, qmp] = await Promise.race([
      Promise.all([
        connectWithRetry(sockets.serial, timeoutMs).then((s) => {
          // QEMU dying resets the connection: the exit is reported, not the reset.
          s.on('error', () => {});
          serialSocket = s;
          return s;
        }),
        QmpClient.connect(sockets.qmp, timeoutMs),
      ]),
      failed,
    ]);
    // QEMU connects its netdev while it initialises, before QMP answers; hostfwd binds right after.
    if (opts.slirp) {
      await Promise.race([guestConnected, failed, delay(timeoutMs).then(() => {
        throw new StartFailure(`${program} did not connect its network to Usernet within ${timeoutMs / 1000} s`, false, output.value);
      })]);
    }
    const started: Attempt = { child, server, serialSocket, qmp, output, slirp: guestSlirp, frozenByUs };
    qmp.on('event', (e) => {
      // The quit that follows a halt (qemu-halt.ts) must not replace why the run ends.
      if (e.event === 'SHUTDOWN' && typeof e.data?.reason === 'string' && started.shutdownReason !== GUEST_HALT) started.shutdownReason = e.data.reason;
    });
    return started;
  } catch (e) {
    serialSocket?.destroy();
    qmp?.close();
    // A socket reset is usually QEMU dying: its exit status and message say more.
    const exitReport = await Promise.race([failed.catch((f: unknown) => f), delay(1_000)]);
    if (exitReport instanceof StartFailure && !(e instanceof StartFailure)) e = exitReport;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    await server.close();
    throw e;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

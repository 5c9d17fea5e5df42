/**
 * One QEMU process wired to a fresh backend: our slirp listening on the
 * `-netdev stream` socket before QEMU starts, QEMU spawned frozen (-S), its
 * serial and QMP sockets connected. On any failure nothing is left running,
 * and the failure says whether QEMU itself exited early (then qemu-machine.ts
 * may try again without KVM). Every QEMU process is killed if this process
 * exits without stopping it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { PausableClock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import type { SlirpConfig } from '../slirp/config';
import type { Slirp } from '../slirp/slirp';
import { QmpClient, connectWithRetry } from './qmp';
import { describeQemuExit, GUEST_HALT, OutputTail } from './qemu-exit';
import { serveStream, type StreamServer } from './stream-backend';

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

export interface Attempt {
  child: ChildProcess;
  server: StreamServer;
  serialSocket: Socket;
  qmp: QmpClient;
  /** QMP's SHUTDOWN reason once the guest asked QEMU to stop. */
  shutdownReason?: string;
  output: OutputTail;
  slirp?: Slirp;
  frozenByUs: boolean;
}

export class StartFailure extends Error {
  constructor(message: string, readonly exitedEarly: boolean, readonly output: string) {
    super(message);
  }
}

/** One QEMU process wired to a fresh backend; on failure nothing is left running. */
export async function startAttempt(program: string, opts: QemuOptions, sockets: QemuSockets, accel: QemuAccel, log: (m: string) => void): Promise<Attempt> {
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
  let serialSocket: Socket | undefined;
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

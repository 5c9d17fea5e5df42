/**
 * The QEMU engine: a real qemu-system-x86_64 whose user networking is our
 * slirp over `-netdev stream` (listening before QEMU starts: QEMU 7.2 never
 * reconnects), its serial port on a unix socket, and QMP for stop/cont/quit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SlirpConfig } from '../slirp/config';
import type { Slirp } from '../slirp/slirp';
import { QmpClient, connectWithRetry } from './qmp';
import { SerialConsole } from './serial-console';
import { serveStream } from './stream-backend';

export interface QemuSockets {
  net: string;
  serial: string;
  qmp: string;
}

export interface QemuOptions {
  /** qemu-system-x86_64 unless a setting names another binary. */
  qemuPath?: string;
  /** The command line minus the program, given the socket paths to use. */
  buildArgs: (sockets: QemuSockets) => string[];
  slirp: SlirpConfig;
  onProgress?: (message: string) => void;
}

/** True when this process can use KVM (then `-enable-kvm -cpu host`; else TCG, much slower). */
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

export class QemuMachine extends EventEmitter<{ exit: [code: number | null, signal: string | null]; paused: []; resumed: [] }> {
  slirp?: Slirp;
  private stderr = '';
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly serial: SerialConsole,
    private readonly qmp: QmpClient,
    private readonly closeServer: () => Promise<void>,
    private readonly dir: string,
  ) {
    super();
  }

  /** What QEMU printed on stderr (for error reports). */
  get errorOutput(): string {
    return this.stderr;
  }

  static async start(opts: QemuOptions): Promise<QemuMachine> {
    const progress = opts.onProgress ?? (() => {});
    const dir = mkdtempSync(join(tmpdir(), 'usernet-qemu-'));
    const sockets: QemuSockets = { net: join(dir, 'net.sock'), serial: join(dir, 'serial.sock'), qmp: join(dir, 'qmp.sock') };
    // QEMU connects its netdev while it starts, possibly before `vm` exists.
    let slirp: Slirp | undefined;
    let vm: QemuMachine | undefined;
    const server = await serveStream({
      path: sockets.net,
      config: opts.slirp,
      onGuest: (s) => {
        slirp = s;
        if (vm) vm.slirp = s;
      },
    });
    const qemu = opts.qemuPath ?? 'qemu-system-x86_64';
    progress(`starting ${qemu}${kvmUsable() ? '' : ' (no usable /dev/kvm: TCG, slower)'}`);
    const child = spawn(qemu, opts.buildArgs(sockets), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-16_384)));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (e) => reject(new Error(`cannot start ${qemu}: ${e.message} (is qemu-system-x86 installed?)`)));
      child.once('exit', (code) => reject(new Error(`${qemu} exited with status ${code} before it was ready: ${stderr.trim() || 'no message'}`)));
    });
    try {
      const [serialSocket, qmp] = await Promise.race([
        Promise.all([connectWithRetry(sockets.serial, 15_000), QmpClient.connect(sockets.qmp, 15_000)]),
        failed,
      ]);
      const serial = new SerialConsole({
        send: (b) => serialSocket.write(b),
        onByte: (fn) => serialSocket.on('data', (buf: Buffer) => buf.forEach((b) => fn(b))),
      });
      vm = new QemuMachine(child, serial, qmp, () => server.close(), dir);
      vm.slirp = slirp;
      const started = vm;
      started.stderr = stderr;
      child.stderr!.on('data', (d: string) => (started.stderr = (started.stderr + d).slice(-16_384)));
      child.removeAllListeners('exit');
      child.once('exit', (code, signal) => {
        started.exited = true;
        void started.cleanup();
        started.emit('exit', code, signal);
      });
      return started;
    } catch (e) {
      child.kill('SIGKILL');
      await server.close();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  status(): Promise<{ running: boolean; status: string }> {
    return this.qmp.execute('query-status');
  }

  async pause(): Promise<void> {
    await this.qmp.execute('stop');
    this.slirp?.pause();
    this.emit('paused');
  }

  async resume(): Promise<void> {
    this.slirp?.resume();
    await this.qmp.execute('cont');
    this.emit('resumed');
  }

  exec(command: string, timeoutMs = 60_000) {
    return this.serial.exec(command, timeoutMs);
  }

  /** Asks QEMU to quit, then kills it if it has not gone within `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.qmp.execute('quit').catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }

  private async cleanup(): Promise<void> {
    this.qmp.close();
    await this.closeServer().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

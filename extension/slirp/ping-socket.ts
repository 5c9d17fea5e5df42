/**
 * Host ping sockets: what libslirp's icmp_send opens to forward a guest's echo
 * request, socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) (and AF_INET6 with
 * IPPROTO_ICMPV6). Linux lets an unprivileged process have one when its group
 * is within net.ipv4.ping_group_range (that one sysctl governs both families);
 * the kernel picks the echo identifier (the socket's "port"), fills the
 * checksum, and hands back only the echo replies that carry that identifier,
 * as ICMP header and data without the IP header.
 *
 * Node has no such socket, so libc is called through koffi, an FFI library
 * shipped with prebuilt binaries on npm for every platform Node runs on: no
 * compiler at install time, which a small N-API addon would need (node-gyp and
 * Node's headers, absent offline and in CI), and nothing to build per Electron
 * version for VS Code. The sockets are non-blocking; reading waits in one
 * poll() per process, run asynchronously on a libuv worker thread (koffi's
 * async calls) and woken through a pipe when the set of sockets changes, so
 * Node's event loop never blocks. That poll holds one of libuv's worker threads
 * (4 by default) for as long as echo flows are open, timing out every second.
 *
 * Where koffi cannot load (no binary for the platform), the platform is not
 * Linux (macOS's ping sockets return the IP header, BSDs have none), or the
 * socket is refused (ping_group_range, seccomp), `open` says why in words the
 * user can act on, and the caller drops the echo.
 */
import { constants as osConstants } from 'node:os';
import { createRequire } from 'node:module';

export type PingFamily = 4 | 6;

const errno = osConstants.errno;

export interface PingSocket {
  readonly fd: number;
  /** Sends one echo request (ICMP header and data) to `address` (4 or 16 bytes): 0, or the errno. */
  send(message: Uint8Array, address: Uint8Array): number;
  /** One waiting reply (ICMP header and data), or an errno: EAGAIN when nothing waits. */
  receive(): Uint8Array | number;
  /** The echo identifier the kernel gave this socket (0 before the first send). */
  identifier(): number;
  /** Stops (false) or restarts (true) calling the socket's reader when replies wait. */
  watch(on: boolean): void;
  close(): void;
}

export interface PingSockets {
  /** A ping socket whose replies call `onReadable`, or why none can be had. */
  open(family: PingFamily, onReadable: () => void): PingSocket | { readonly error: string };
}

/** Ping sockets that cannot be had, for hosts (and tests) that must not forward echoes. */
export function unavailablePingSockets(why: string): PingSockets {
  return { open: () => ({ error: why }) };
}

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const POLLIN = 1;
/** An echo reply is at most a whole IP datagram's payload. */
const MAX_REPLY = 65535;
/** How long one poll may hold its worker thread before it is issued anew. */
const POLL_TIMEOUT_MS = 1000;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrlen: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  getsockname(fd: number, addr: Uint8Array, addrlen: Uint32Array): number;
  close(fd: number): number;
  pipe2(fds: Int32Array, flags: number): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  strerror(err: number): string;
  poll: { async(fds: Uint8Array, n: number, timeout: number, done: (err: unknown, ready: number) => void): void };
  errno(): number;
}

let libc: Libc | string | undefined;

/** libc through koffi, or why it cannot be had (cached: it will not change while the process lives). */
function loadLibc(): Libc | string {
  if (libc !== undefined) return libc;
  if (process.platform !== 'linux') return (libc = `ping forwarding uses Linux's ping sockets; this host runs ${process.platform}`);
  try {
    // The build ships koffi beside the bundles (dist/node_modules); from source, the package.
    const koffi = createRequire(__filename)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const f = (decl: string) => lib.func(decl) as unknown as (...a: unknown[]) => number;
    const poll = lib.func('int poll(void *fds, unsigned long n, int timeout)') as unknown as Libc['poll'];
    libc = {
      socket: f('int socket(int, int, int)'),
      sendto: f('long sendto(int, const void *, size_t, int, const void *, uint32_t)'),
      recv: f('long recv(int, void *, size_t, int)'),
      getsockname: f('int getsockname(int, void *, void *)'),
      close: f('int close(int)'),
      pipe2: f('int pipe2(void *, int)'),
      read: f('long read(int, void *, size_t)'),
      write: f('long write(int, const void *, size_t)'),
      strerror: lib.func('const char *strerror(int)') as unknown as (e: number) => string,
      poll,
      errno: () => koffi.errno(),
    } as Libc;
  } catch (err) {
    libc = `the FFI library koffi could not load libc (${(err as Error).message.split('\n')[0]})`;
  }
  return libc;
}

/**
 * The one poll() of the process: every open ping socket's fd, plus a pipe that
 * interrupts it when a socket is added or removed. Issued only while some
 * socket is watched, so an idle process has no poll and exits freely.
 */
class Poller {
  private readonly readers = new Map<number, () => void>();
  private inFlight = false;
  private woken = false;
  private readonly wake: Int32Array;
  private readonly byte = new Uint8Array(64);

  constructor(private readonly c: Libc) {
    this.wake = new Int32Array(2);
    if (c.pipe2(this.wake, SOCK_NONBLOCK | SOCK_CLOEXEC) !== 0) throw new Error(`pipe2: ${c.strerror(c.errno())}`);
  }

  watch(fd: number, reader: () => void): void {
    this.readers.set(fd, reader);
    this.changed();
  }

  unwatch(fd: number): void {
    if (this.readers.delete(fd)) this.changed();
  }

  private changed(): void {
    if (!this.inFlight) return this.issue();
    if (this.woken) return;
    this.woken = true;
    this.c.write(this.wake[1]!, this.byte, 1);
  }

  private issue(): void {
    if (this.readers.size === 0) return;
    const fds = [this.wake[0]!, ...this.readers.keys()];
    const set = new Uint8Array(8 * fds.length);
    const view = new DataView(set.buffer);
    fds.forEach((fd, i) => {
      view.setInt32(8 * i, fd, true);
      view.setInt16(8 * i + 4, POLLIN, true);
    });
    this.inFlight = true;
    this.c.poll.async(set, fds.length, POLL_TIMEOUT_MS, (err, ready) => {
      this.inFlight = false;
      if (!err && ready > 0) {
        if (view.getInt16(6, true) !== 0) this.drainWake();
        for (let i = 1; i < fds.length; i++) {
          if (view.getInt16(8 * i + 6, true) === 0) continue;
          try {
            this.readers.get(fds[i]!)?.();
          } catch {
            // A reader guards itself (icmp-echo.ts); whatever escapes must not stop the other sockets' polling.
          }
        }
      }
      this.issue();
    });
  }

  private drainWake(): void {
    this.woken = false;
    while (this.c.read(this.wake[0]!, this.byte, this.byte.length) > 0);
  }
}

let poller: Poller | undefined;

class HostPingSocket implements PingSocket {
  private closed = false;
  private watching = false;
  private readonly buffer = new Uint8Array(MAX_REPLY);

  constructor(
    private readonly c: Libc,
    readonly fd: number,
    private readonly family: PingFamily,
    private readonly reader: () => void,
  ) {}

  send(message: Uint8Array, address: Uint8Array): number {
    const sa = this.family === 4 ? new Uint8Array(16) : new Uint8Array(28);
    new DataView(sa.buffer).setUint16(0, this.family === 4 ? AF_INET : AF_INET6, true);
    sa.set(address, this.family === 4 ? 4 : 8);
    return this.c.sendto(this.fd, message, message.length, 0, sa, sa.length) < 0 ? this.c.errno() : 0;
  }

  receive(): Uint8Array | number {
    const n = this.c.recv(this.fd, this.buffer, this.buffer.length, 0);
    return n < 0 ? this.c.errno() : this.buffer.slice(0, n);
  }

  identifier(): number {
    const sa = new Uint8Array(28);
    const len = new Uint32Array([sa.length]);
    if (this.c.getsockname(this.fd, sa, len) !== 0) return 0;
    return (sa[2]! << 8) | sa[3]!;
  }

  watch(on: boolean): void {
    if (this.closed || on === this.watching) return;
    this.watching = on;
    if (on) poller!.watch(this.fd, this.reader);
    else poller!.unwatch(this.fd);
  }

  close(): void {
    if (this.closed) return;
    this.watch(false);
    this.closed = true;
    this.c.close(this.fd);
  }
}

/** What the user can do about a socket the host refused. */
function refusal(c: Libc, err: number, family: PingFamily): string {
  const what = `the host refused a ping socket (socket(${family === 4 ? 'AF_INET' : 'AF_INET6'}, SOCK_DGRAM, ${family === 4 ? 'IPPROTO_ICMP' : 'IPPROTO_ICMPV6'}): ${c.strerror(err)})`;
  if (err === errno.EACCES || err === errno.EPERM) {
    const gid = process.getgid?.() ?? 0;
    return `${what}: group ${gid} is outside net.ipv4.ping_group_range; allow it with sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"`;
  }
  return what;
}

/** This host's ping sockets (Linux, through koffi). */
export const hostPingSockets: PingSockets = {
  open(family, onReadable) {
    const c = loadLibc();
    if (typeof c === 'string') return { error: c };
    const fd = c.socket(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
    if (fd < 0) return { error: refusal(c, c.errno(), family) };
    try {
      poller ??= new Poller(c);
    } catch (err) {
      c.close(fd);
      return { error: (err as Error).message };
    }
    const s = new HostPingSocket(c, fd, family, onReadable);
    s.watch(true);
    return s;
  },
};

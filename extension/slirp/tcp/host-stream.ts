import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { Duplex } from 'node:stream';

/** The host end of a connection: a TCP socket or a command's stdin/stdout. */
export type HostStream = Duplex;

export type ConnectOutcome =
  | { ok: true; stream: HostStream }
  | { ok: false; code: string };

/** Node keeps the descriptor on a private handle; -1 when it is not exposed. */
export function fdOf(stream: HostStream): number {
  const fd = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/**
 * A socket constructed before it is needed. Constructing a net.Socket (its
 * stream state and listeners) took ~0.14 ms of cold JavaScript per connection
 * here, between a guest's SYN and the start of the host connect; the next one
 * is built after a connect has completed and its SYN-ACK has been queued.
 */
let spareSocket: net.Socket | undefined;
const newSocket = (): net.Socket => new net.Socket({ allowHalfOpen: true });
const refillSpareSocket = (): void => {
  spareSocket ??= newSocket();
};

/** Connects with half-close kept (a guest FIN ends only our writing side). */
export function connectTcp(host: string, port: number, done: (outcome: ConnectOutcome) => void): HostStream {
  const socket = spareSocket ?? newSocket();
  spareSocket = undefined;
  socket.setNoDelay(true);
  socket.connect({ host, port });
  // Each listener removes the other: a listener left on an open socket would keep `done`, and all it
  // holds of the connection's opening, for the socket's whole life.
  const connected = (): void => {
    done({ ok: true, stream: socket });
    socket.off('error', failed);
    // After what `done` queued (the SYN-ACK's write runs in an earlier immediate).
    setImmediate(refillSpareSocket);
  };
  const failed = (err: NodeJS.ErrnoException): void => {
    socket.off('connect', connected);
    socket.destroy();
    done({ ok: false, code: err.code ?? 'EIO' });
  };
  socket.once('connect', connected);
  socket.once('error', failed);
  return socket;
}

/**
 * Runs `/bin/sh -c command` (guestfwd cmd:) and joins its stdout and stdin into
 * one stream; stderr is discarded. Killing the stream kills the process.
 */
export function spawnCommand(command: string, done: (outcome: ConnectOutcome) => void): HostStream {
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'ignore'] });
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  // A command that stops reading its stdin must not crash us with EPIPE.
  child.stdin.on('error', () => {});
  stream.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  let settled = false;
  child.once('spawn', () => {
    if (settled) return;
    settled = true;
    done({ ok: true, stream });
  });
  child.once('error', (err: NodeJS.ErrnoException) => {
    if (settled) return;
    settled = true;
    stream.destroy();
    done({ ok: false, code: err.code ?? 'EIO' });
  });
  return stream;
}

/**
 * Ends gracefully, as libslirp's close() of a socket it still has: what was
 * written goes out, then FIN, then the socket closes. Nothing more is read.
 */
export function finishStream(stream: HostStream): void {
  stream.removeAllListeners('data');
  stream.removeAllListeners('end');
  stream.on('error', () => {});
  // Unread data left in the kernel when the socket closes would turn its FIN into RST.
  stream.resume();
  if (stream instanceof net.Socket) stream.destroySoon();
  else stream.end(() => stream.destroy());
}

/** Closes abruptly; a TCP peer sees RST where Node supports it. */
export function abortStream(stream: HostStream): void {
  const s = stream as Partial<net.Socket>;
  if (typeof s.resetAndDestroy === 'function' && stream instanceof net.Socket && !stream.destroyed && !stream.connecting) {
    try {
      stream.resetAndDestroy();
      return;
    } catch {
      /* fall through */
    }
  }
  stream.destroy();
}

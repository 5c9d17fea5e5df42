import { lstatSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import net from 'node:net';
import { PausableClock, type Clock } from '../pipeline/clock';
import { ProbeHub } from '../pipeline/probe';
import type { SlirpConfig } from '../slirp/config';
import { Slirp } from '../slirp/slirp';
import { StreamFrameBatcher } from './stream-frame-batch';
import { StreamFrameDecoder, StreamFramingError } from './stream-framing';

/**
 * Bytes queued toward QEMU beyond which the guest's frames are no longer read
 * (QEMU is reading slowly): as QEMU's own net queue does, the sender waits for
 * the receiver instead of losing frames. Reading resumes when the queue drains.
 */
export const PAUSE_READING_AT = 4 << 20;
/**
 * A paused guest sends nothing, so what still arrives is the host's traffic
 * (UDP, timers); past this the frames are dropped, counted and logged once.
 */
export const MAX_PENDING_TO_QEMU = 4 * PAUSE_READING_AT;

export interface ServeStreamOptions {
  /** A unix socket path (QEMU: addr.type=unix,addr.path=PATH). */
  path?: string;
  /** Or a TCP listener (QEMU: addr.type=inet,addr.host=HOST,addr.port=PORT); port 0 picks one. */
  host?: string;
  port?: number;
  config: SlirpConfig;
  /** Called with each guest's Slirp when QEMU connects. */
  onGuest?: (slirp: Slirp) => void;
  /** Called when a guest's slirp cannot start (a hostfwd port is taken); its connection is closed. */
  onGuestFailed?: (err: Error) => void;
  /** Called when a guest's QEMU disconnected and its slirp (host sockets, hostfwd listeners) is closed. */
  onGuestGone?: (slirp: Slirp) => void;
  log?: (msg: string) => void;
  /** Clock and probes for each connection; by default a fresh PausableClock and ProbeHub. */
  clock?: () => Clock;
  probes?: () => ProbeHub;
}

export interface StreamServer {
  close(): Promise<void>;
  /** The unix path, or host:port actually bound. */
  address: string;
}

/**
 * A backend QEMU's `-netdev stream,server=off` connects to: one Slirp per
 * connection (one guest), torn down when QEMU disconnects. QEMU 7.2's client
 * never retries, so this must listen before QEMU starts.
 */
export async function serveStream(opts: ServeStreamOptions): Promise<StreamServer> {
  const log = opts.log ?? (() => {});
  const connections = new Set<{ socket: net.Socket; slirp: Slirp }>();
  const server = net.createServer((socket) => {
    const clock = opts.clock?.() ?? new PausableClock();
    const probes = opts.probes?.() ?? new ProbeHub();
    let dropped = 0;
    let pausedReading = false;
    let pauses = 0;
    // A turn's frames leave in one write (several chunks: one writev), not one write each.
    const batch = new StreamFrameBatcher((chunks) => {
      if (socket.destroyed) return false;
      if (chunks.length === 1) socket.write(chunks[0]!);
      else {
        socket.cork();
        for (const c of chunks) socket.write(c);
        socket.uncork();
      }
      // Nothing left queued: the kernel copied the bytes during the write, so the batch may refill its chunk.
      return socket.writableLength === 0;
    });
    const slirp = new Slirp({
      config: opts.config,
      clock,
      probes,
      log,
      output: (frame) => {
        if (socket.destroyed) return;
        const queued = socket.writableLength + batch.pending;
        if (queued > MAX_PENDING_TO_QEMU) {
          if (dropped++ === 0) log(`QEMU is not reading its stream: ${MAX_PENDING_TO_QEMU >> 20} MiB are queued for the guest, further frames are dropped`);
          return;
        }
        if (queued > PAUSE_READING_AT && !pausedReading) {
          pausedReading = true;
          socket.pause();
          if (pauses++ === 0) log(`QEMU is reading slowly: ${PAUSE_READING_AT >> 20} MiB are queued for the guest; the guest's frames wait until it catches up`);
        }
        batch.push(frame);
      },
    });
    socket.on('drain', () => {
      // 'drain' means Node's queue is empty; what the batch gathered since goes out on its own flush.
      if (!pausedReading || batch.pending > PAUSE_READING_AT) return;
      pausedReading = false;
      socket.resume();
    });
    const entry = { socket, slirp };
    connections.add(entry);
    const decoder = new StreamFrameDecoder((frame) => slirp.input(frame));
    socket.setNoDelay?.(true);
    socket.on('data', (chunk) => {
      try {
        decoder.push(chunk);
        // What the guest's frames were answered with leaves now, not a turn later (a ping's reply, ARP).
        batch.flush();
      } catch (err) {
        if (err instanceof StreamFramingError) {
          log(`closing the QEMU connection: ${err.message}`);
          socket.destroy();
        } else {
          throw err;
        }
      }
    });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      batch.discard();
      connections.delete(entry);
      log('QEMU disconnected; its network state is released');
      void slirp.close().then(() => opts.onGuestGone?.(slirp));
    };
    socket.on('error', (err) => log(`QEMU stream error: ${err.message}`));
    socket.on('close', end);
    slirp.start().then(
      () => opts.onGuest?.(slirp),
      (err: Error) => {
        log(`hostfwd failed: ${err.message}`);
        opts.onGuestFailed?.(err);
        socket.destroy();
      },
    );
  });

  let address: string;
  if (opts.path) {
    removeStaleSocket(opts.path);
    const path = opts.path;
    await listen(server, () => server.listen(path)).catch((e: NodeJS.ErrnoException) => {
      throw missingDirectoryError(path) ?? e;
    });
    address = opts.path;
  } else {
    const host = opts.host ?? '127.0.0.1';
    await listen(server, () => server.listen(opts.port ?? 0, host));
    const a = server.address() as net.AddressInfo;
    address = `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  }

  return {
    address,
    close: async () => {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of [...connections]) {
        c.socket.destroy();
        await c.slirp.close();
      }
      connections.clear();
      await closing;
      if (opts.path) removeStaleSocket(opts.path);
    },
  };
}

function listen(server: net.Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    start();
  });
}

/**
 * libuv reports bind() under a directory that does not exist as EACCES; the
 * true error is ENOENT (or ENOTDIR), and the user needs the directory's name.
 */
export function missingDirectoryError(path: string): NodeJS.ErrnoException | undefined {
  const dir = dirname(path);
  let code: string;
  try {
    if (statSync(dir).isDirectory()) return undefined;
    code = 'ENOTDIR';
  } catch (e) {
    code = (e as NodeJS.ErrnoException).code ?? 'ENOENT';
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
  }
  const what = code === 'ENOENT' ? 'does not exist' : 'is not a directory';
  return Object.assign(new Error(`${code}: the socket's directory ${dir} ${what}`), { code, path: dir });
}

/** A socket file left by an earlier run blocks listen(); only ever remove a socket, never a regular file. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // nothing there
  }
}

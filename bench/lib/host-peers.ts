/**
 * Host-side peers for guest benchmarks, on 127.0.0.1 (the guest's 10.0.2.2),
 * that time transfers from the host's side: when the connection was accepted
 * and when the last byte was taken, so guest-side process start-up and the
 * serial console are not in the figure.
 */
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';

export interface Transfer {
  bytes: number;
  /** Milliseconds (performance.now) at accept / request and at the end of the transfer. */
  start: number;
  end: number;
}

export const seconds = (t: Transfer) => (t.end - t.start) / 1000;
export const mbPerSecond = (t: Transfer) => t.bytes / 1e6 / seconds(t);

interface Queue {
  /** The next finished transfer; rejects after `timeoutMs` (and stops waiting: a late transfer is kept for the next call). */
  next(timeoutMs?: number, what?: string): Promise<Transfer>;
  /** Forgets finished transfers nobody asked for and abandons pending waits (both left by a failed figure). */
  clear(): void;
}

function transferQueue(): Queue & { push(t: Transfer): void } {
  const done: Transfer[] = [];
  const waiters: Array<{ resolve: (t: Transfer) => void; reject: (e: Error) => void }> = [];
  return {
    push: (t) => {
      const w = waiters.shift();
      if (w) w.resolve(t);
      else done.push(t);
    },
    next: (timeoutMs = 600_000, what = 'a transfer') => {
      if (done.length) return Promise.resolve(done.shift()!);
      return new Promise((resolve, reject) => {
        const waiter = {
          resolve: (t: Transfer) => {
            clearTimeout(timer);
            resolve(t);
          },
          reject: (e: Error) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`timed out after ${timeoutMs} ms: ${what}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    clear: () => {
      done.length = 0;
      for (const w of waiters.splice(0)) w.reject(new Error('abandoned: a new figure started'));
    },
  };
}

const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

export interface TimedPeer extends Queue {
  port: number;
  close(): Promise<void>;
}

/** Counts what each connection sends; a transfer ends when the sender shuts down its side. */
export async function startTimedSink(): Promise<TimedPeer> {
  const q = transferQueue();
  const server = createTcpServer((sock) => {
    const start = performance.now();
    let bytes = 0;
    sock.on('data', (d) => (bytes += d.length));
    sock.on('end', () => q.push({ bytes, start, end: performance.now() }));
    sock.on('error', () => {});
  });
  const port = await listen(server);
  return { port, next: q.next, clear: q.clear, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * A minimal HTTP/1.0-style file server over raw TCP. The transfer runs from
 * the request to the guest's FIN: busybox wget closes once it has read
 * Content-Length bytes, so that moment is the last byte taken by the guest
 * (a server-side "finish" would only say the host kernel took the bytes).
 */
export async function startTimedHttp(files: Record<string, Buffer>): Promise<TimedPeer & { requests: number }> {
  const q = transferQueue();
  const state = { requests: 0 };
  const server = createTcpServer({ allowHalfOpen: true }, (sock) => {
    let head = '';
    let start = 0;
    let body: Buffer | undefined;
    sock.on('error', () => {});
    sock.on('data', (d) => {
      if (start) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      start = performance.now();
      state.requests++;
      const path = /^GET (\S+) /.exec(head)?.[1] ?? '';
      body = files[path];
      if (!body) {
        sock.end('HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      sock.write(`HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      sock.write(body);
    });
    sock.on('end', () => {
      if (body) q.push({ bytes: body.length, start, end: performance.now() });
      sock.end();
    });
  });
  const port = await listen(server);
  return {
    port,
    next: q.next,
    clear: q.clear,
    get requests() {
      return state.requests;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

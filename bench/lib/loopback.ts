/** Loopback TCP peers for the in-process benchmarks: a sink that counts, a source that sends N bytes. */
import * as net from 'node:net';

export interface Peer {
  port: number;
  close(): Promise<void>;
}

const listen = (server: net.Server) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));

/** A loopback port free a moment ago (for a hostfwd rule a backend binds itself). */
export async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Counts what each connection sends; `expect(n)` resolves when one connection has delivered n bytes. */
export async function startSink(): Promise<Peer & { expect(bytes: number): Promise<void>; connections: number }> {
  let waiter: { bytes: number; resolve: () => void } | undefined;
  const state = { connections: 0 };
  const server = net.createServer((s) => {
    state.connections++;
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
      if (waiter && got >= waiter.bytes) {
        const w = waiter;
        waiter = undefined;
        w.resolve();
      }
    });
    s.on('error', () => {});
  });
  const port = await listen(server);
  return {
    port,
    get connections() {
      return state.connections;
    },
    expect: (bytes) => new Promise<void>((resolve) => (waiter = { bytes, resolve })),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Sends `bytes` to every connection in writes of `chunk`, with backpressure, then ends it. */
export async function startSource(bytes: () => number, chunk = 64 * 1024): Promise<Peer> {
  const block = Buffer.alloc(chunk, 0x5a);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let left = bytes();
    const write = () => {
      while (left > 0) {
        const n = Math.min(chunk, left);
        left -= n;
        if (!s.write(n === chunk ? block : block.subarray(0, n))) {
          s.once('drain', write);
          return;
        }
      }
      s.end();
    };
    write();
  });
  const port = await listen(server);
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** The physical limit: a plain socket writing `bytes` to a loopback sink in writes of `chunk`. */
export async function loopbackPush(sinkPort: number, sink: { expect(bytes: number): Promise<void> }, bytes: number, chunk: number): Promise<void> {
  const block = Buffer.alloc(chunk, 0x5a);
  const done = sink.expect(bytes);
  const s = net.connect(sinkPort, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  let left = bytes;
  await new Promise<void>((resolve) => {
    const write = () => {
      while (left > 0) {
        const n = Math.min(chunk, left);
        left -= n;
        if (!s.write(n === chunk ? block : block.subarray(0, n))) {
          s.once('drain', write);
          return;
        }
      }
      resolve();
    };
    write();
  });
  await done;
  s.destroy();
}

/** The physical limit the other way: a plain socket reading everything a loopback source sends. */
export async function loopbackPull(sourcePort: number, bytes: number): Promise<void> {
  const s = net.connect(sourcePort, '127.0.0.1');
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    s.on('data', (d) => {
      got += d.length;
    });
    s.on('end', () => (got >= bytes ? resolve() : reject(new Error(`loopback pull got ${got} of ${bytes} bytes`))));
    s.on('error', reject);
  });
  s.destroy();
}

import * as net from 'node:net';

/** A loopback TCP server for tests: keeps every accepted socket and what it received. */
export class HostServer {
  readonly sockets: net.Socket[] = [];
  readonly received = new Map<net.Socket, Buffer[]>();
  readonly ended = new Set<net.Socket>();
  readonly closed = new Set<net.Socket>();
  readonly errors: string[] = [];
  private server: net.Server;
  port = 0;

  constructor(private readonly onConnection: (s: net.Socket, server: HostServer) => void = () => {}, opts: { pauseOnConnect?: boolean } = {}) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: opts.pauseOnConnect ?? false }, (s) => {
      this.sockets.push(s);
      this.received.set(s, []);
      s.on('data', (d) => this.received.get(s)!.push(d));
      s.on('end', () => this.ended.add(s));
      s.on('close', () => this.closed.add(s));
      s.on('error', (e: NodeJS.ErrnoException) => this.errors.push(e.code ?? e.message));
      this.onConnection(s, this);
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  bytes(i = 0): Buffer {
    const s = this.sockets[i];
    return s ? Buffer.concat(this.received.get(s)!) : Buffer.alloc(0);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

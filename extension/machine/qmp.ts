/**
 * A small QMP client (QEMU Machine Protocol over a unix socket): the
 * greeting, qmp_capabilities, then commands matched to replies by id, and
 * asynchronous events (STOP, RESUME, SHUTDOWN...).
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(readonly command: string, readonly qmpClass: string, desc: string) {
    super(`QMP ${command} failed: ${qmpClass}: ${desc}`);
  }
}

/** Lines longer than this are not QMP: the connection is dropped rather than buffered forever. */
const MAX_LINE = 1024 * 1024;

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: []; greeting: [] }> {
  private buffer = '';
  private nextId = 1;
  private pending = new Map<string, { command: string; resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private greeted!: Promise<void>;

  private constructor(private readonly socket: Socket) {
    super();
  }

  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const socket = await connectWithRetry(path, timeoutMs);
    const client = new QmpClient(socket);
    client.greeted = new Promise((resolve, reject) => {
      client.once('greeting', resolve);
      socket.once('error', reject);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => client.onData(chunk));
    socket.on('close', () => {
      for (const p of client.pending.values()) p.reject(new Error(`QMP connection closed before ${p.command} answered`));
      client.pending.clear();
      client.emit('close');
    });
    await client.greeted;
    await client.execute('qmp_capabilities');
    return client;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    const id = String(this.nextId++);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE && !this.buffer.includes('\n')) {
      this.socket.destroy(new Error('QMP sent an over-long line'));
      return;
    }
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if ('QMP' in msg) {
      this.emit('greeting');
      return;
    }
    if (typeof msg.event === 'string') {
      this.emit('event', msg as unknown as QmpEvent);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const p = id ? this.pending.get(id) : undefined;
    if (!p || !id) return;
    this.pending.delete(id);
    if ('error' in msg) {
      const err = msg.error as { class?: string; desc?: string };
      p.reject(new QmpError(p.command, err.class ?? 'Error', err.desc ?? ''));
    } else {
      p.resolve(msg.return);
    }
  }
}

/** QEMU creates its server sockets a moment after it starts: retry until then. */
export async function connectWithRetry(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => {
          s.removeListener('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`cannot connect to ${path}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

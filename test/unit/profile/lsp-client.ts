/**
 * A small LSP client for tests: spawns the profile server and speaks JSON-RPC
 * with Content-Length framing over its stdio, as an editor does.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

type Message = { id?: number; method?: string; params?: any; result?: any; error?: any };

export class LspTestClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly notifications: Message[] = [];
  private readonly waiters: Array<{ match: (m: Message) => boolean; resolve: (m: Message) => void }> = [];
  stderr = '';

  constructor(root: string) {
    const bundled = join(root, 'dist', 'profile-server.js');
    // Prefer the bundle the extension ships; the TypeScript source otherwise.
    const args = bundleIsFresh(root, bundled)
      ? [bundled, '--stdio']
      : ['--import', 'tsx', join(root, 'extension', 'profile', 'server-main.ts'), '--stdio'];
    this.child = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => { this.stderr += chunk.toString(); });
  }

  request(method: string, params: unknown): Promise<any> {
    const id = this.nextId++;
    this.send({ jsonrpc: '2.0', id, method, params });
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  notify(method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  /** The next (or an already received) notification that matches. */
  waitForNotification(method: string, match: (params: any) => boolean = () => true, timeoutMs = 8000): Promise<any> {
    const test = (m: Message): boolean => m.method === method && match(m.params);
    const index = this.notifications.findIndex(test);
    if (index >= 0) return Promise.resolve(this.notifications.splice(index, 1)[0].params);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({ match: test, resolve: (m) => { clearTimeout(timer); resolve(m.params); } });
    });
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.request('shutdown', null), new Promise((r) => setTimeout(r, 2000))]);
      this.notify('exit', null);
    } catch { /* the process may be gone already */ }
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      const timer = setTimeout(() => { this.child.kill(); resolve(); }, 2000);
      this.child.once('exit', () => { clearTimeout(timer); resolve(); });
    });
  }

  private send(message: object): void {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    this.child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.child.stdin.write(body);
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      const length = Number(/Content-Length: *(\d+)/i.exec(header)?.[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.dispatch(JSON.parse(body) as Message);
    }
  }

  private dispatch(message: Message): void {
    if (message.id !== undefined && message.method === undefined) {
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) pending?.reject(new Error(message.error.message));
      else pending?.resolve(message.result);
      return;
    }
    if (message.id !== undefined && message.method) {
      // A request from the server (configuration, registration): answer plainly.
      const result = message.method === 'workspace/configuration' ? (message.params.items as unknown[]).map(() => null) : null;
      this.send({ jsonrpc: '2.0', id: message.id, result });
      return;
    }
    const waiter = this.waiters.findIndex((w) => w.match(message));
    if (waiter >= 0) this.waiters.splice(waiter, 1)[0].resolve(message);
    else this.notifications.push(message);
  }
}

/** The bundle is used only when it was built after every source it contains was last changed. */
function bundleIsFresh(root: string, bundled: string): boolean {
  if (!existsSync(bundled)) return false;
  const built = statSync(bundled).mtimeMs;
  const sourceDir = join(root, 'extension', 'profile');
  const sources = [
    ...readdirSync(sourceDir).filter((f) => f.endsWith('.ts')).map((f) => join(sourceDir, f)),
    join(root, 'extension', 'slirp', 'netdev-options.ts'),
    join(root, 'extension', 'slirp', 'config.ts'),
  ];
  return sources.every((f) => !existsSync(f) || statSync(f).mtimeMs <= built);
}

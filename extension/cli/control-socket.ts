/**
 * A running `usernet run` answers questions on a unix socket, one request
 * line in, one text answer out: `usernet sessions` asks it `info usernet`.
 * The socket lives in $XDG_RUNTIME_DIR/usernet/<pid>.sock, or
 * /tmp/usernet-<uid>/<pid>.sock; the directory is the user's alone (0700).
 */
import { chmodSync, mkdirSync, readdirSync, readlinkSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';

export function controlDir(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  return runtime ? join(runtime, 'usernet') : `/tmp/usernet-${process.getuid?.() ?? 'user'}`;
}

export function controlSocketPath(pid: number, dir = controlDir()): string {
  return join(dir, `${pid}.sock`);
}

/** Answers one request line; unknown requests get an "error: ..." line. */
export type ControlHandler = (request: string) => string;

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function startControlServer(handler: ControlHandler, path = controlSocketPath(process.pid)): Promise<ControlServer> {
  const dir = path.slice(0, path.lastIndexOf('/'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  // A socket file left by a process with our pid that died is ours to replace.
  try {
    unlinkSync(path);
  } catch {}
  const server: Server = createServer((sock) => {
    let buffered = '';
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) {
        if (buffered.length > 4096) sock.end('error: request too long\n');
        return;
      }
      let answer: string;
      try {
        answer = handler(buffered.slice(0, nl).trim());
      } catch (e) {
        answer = `error: ${(e as Error).message}\n`;
      }
      sock.end(answer.endsWith('\n') ? answer : `${answer}\n`);
    });
  });
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  const cleanup = () => {
    try {
      unlinkSync(path);
    } catch {}
  };
  // Even a process.exit() leaves no socket file behind.
  process.once('exit', cleanup);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        process.off('exit', cleanup);
        server.close(() => resolve());
        cleanup();
      }),
  };
}

/** A process's network namespace (Linux), or undefined where /proc does not tell. */
export function netnsOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/**
 * The pids of the running VMs whose sockets are in `dir`, of this network
 * namespace only: a VM of another namespace has its forwards and sessions
 * there, out of this one's reach (the socket file itself is reachable from
 * any namespace, so the namespace is asked of /proc). Sockets of dead
 * processes are removed.
 */
export function runningVms(dir = controlDir()): number[] {
  const ours = netnsOf('self');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names) {
    const m = /^(\d+)\.sock$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (isAlive(pid)) {
      const theirs = netnsOf(pid);
      if (ours === undefined || theirs === undefined || theirs === ours) pids.push(pid);
    } else {
      try {
        unlinkSync(join(dir, name));
      } catch {}
    }
  }
  return pids.sort((a, b) => a - b);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends one request and resolves with the whole answer. */
export function askControl(path: string, request: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let answer = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${request}\n`));
    sock.on('data', (d: string) => (answer += d));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

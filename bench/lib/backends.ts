/**
 * The three user-mode network backends a QEMU guest can be given, started the
 * way their users start them:
 *   libslirp  QEMU's own `-netdev user`
 *   passt     a passt process, QEMU on `-netdev stream` to its socket
 *   usernet   `usernet serve` (our slirp) as a separate node process, same netdev, mtu=9000 (the bundled guest's jumbo link)
 *   usernet-mtu1500  the same with mtu=1500: the guest keeps Ethernet's MTU, as on libslirp
 * Each yields QEMU's -netdev argument (id n0) and a hostfwd of `fwdPort` to the guest's port 80.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, progress } from './report';

export type BackendName = 'libslirp' | 'passt' | 'usernet' | 'usernet-mtu1500';

export interface RunningBackend {
  netdev: string;
  /** The unix socket QEMU's `-netdev stream` connects to (passt, usernet). */
  socketPath?: string;
  /** The backend's own process (passt, usernet), whose CPU time is the network's. */
  pid?: number;
  stop(): Promise<void>;
  /** What the backend printed (for failure reports). */
  output(): string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function watch(child: ChildProcess): { text: () => string } {
  let text = '';
  const add = (d: Buffer) => (text = (text + d.toString()).slice(-8192));
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return { text: () => text };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitForSocket(path: string, child: ChildProcess, what: string, out: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(path)) return;
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${out().trim().split('\n').slice(-3).join(' | ')}`);
    await sleep(50);
  }
  throw new Error(`${what} did not create ${path}`);
}

/** `usernetRoot`: another checkout whose `usernet serve` runs instead of this one's (an A/B comparison). */
export async function startBackend(name: BackendName, fwdPort: number, usernetRoot = join(BENCH_DIR, '..')): Promise<RunningBackend> {
  if (name === 'libslirp') {
    return { netdev: `user,id=n0,hostfwd=tcp:127.0.0.1:${fwdPort}-:80`, stop: async () => {}, output: () => '' };
  }
  // passt drops to nobody before binding: its socket directory must be world-writable.
  const dir = mkdtempSync(join(tmpdir(), `usernet-bench-${name}-`));
  chmodSync(dir, 0o1777);
  const sock = join(dir, 'net.sock');
  let child: ChildProcess;
  if (name === 'passt') {
    // -a/-n/-g give the guest the same 10.0.2.15/24 and gateway 10.0.2.2 as the slirps; passt maps
    // the gateway address to the host's loopback. -4: the namespace has no IPv6 route.
    child = spawn('passt', ['-f', '-4', '-s', sock, '-i', TAP_NAME, '-a', '10.0.2.15', '-n', '24', '-g', '10.0.2.2', '-t', `127.0.0.1/${fwdPort}:80`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } else {
    // As users run it: the built CLI (npm run build) when present, else the sources through tsx.
    const root = usernetRoot;
    const built = join(root, 'dist', 'cli.js');
    const args = existsSync(built) ? [join(root, 'bin', 'usernet.js')] : ['--import', 'tsx', join(root, 'extension', 'cli.ts')];
    // BENCH_SERVE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the serve process (NODE_OPTIONS refuses --cpu-prof).
    const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const netdev = `user,hostfwd=tcp:127.0.0.1:${fwdPort}-:80${name === 'usernet-mtu1500' ? ',mtu=1500' : ',mtu=9000'}`;
    child = spawn(process.execPath, [...nodeArgs, ...args, 'serve', '--socket', sock, '--netdev', netdev], { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  }
  const out = watch(child);
  try {
    await waitForSocket(sock, child, name, out.text);
  } catch (e) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    netdev: `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}`,
    socketPath: sock,
    pid: child.pid,
    output: out.text,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * passt needs an "external" interface with a default route to copy its
 * addresses from; the private namespace has only loopback. A tap device that
 * no process reads gives it one: its link is down, so anything routed to it
 * is dropped, and the namespace has no path out in any case.
 */
export const TAP_NAME = 'ubench0';

export async function addTemplateInterface(): Promise<void> {
  const run = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const p = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d) => (err += d));
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip ${args.join(' ')}: ${err.trim()}`))));
    });
  await run(['tuntap', 'add', 'dev', TAP_NAME, 'mode', 'tap']);
  await run(['addr', 'add', '192.0.2.1/24', 'dev', TAP_NAME]);
  await run(['link', 'set', TAP_NAME, 'up']);
  await run(['route', 'add', 'default', 'via', '192.0.2.254', 'dev', TAP_NAME, 'onlink']);
}

export type ServePeer = { label: string; name: BackendName; root?: string };

/**
 * The peers a serve bench runs side by side: this checkout's serve, another
 * checkout's (`baseline`) when given, and passt when it is installed (its
 * template interface added here).
 */
export async function servePeers(baseline: string | undefined): Promise<ServePeer[]> {
  const peers: ServePeer[] = [{ label: 'usernet serve', name: 'usernet' }];
  if (baseline) peers.push({ label: `baseline (${baseline})`, name: 'usernet', root: baseline });
  if (spawnSync('passt', ['--version']).status === 0) {
    await addTemplateInterface();
    peers.push({ label: 'passt', name: 'passt' });
  } else {
    progress('passt is not installed (Debian package passt): it is left out');
  }
  return peers;
}

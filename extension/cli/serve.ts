/** `usernet serve`: our slirp as the network backend of a real QEMU. */
import { parseArgs } from 'node:util';
import { serveStream } from '../machine/stream-backend';
import { DEFAULT_SLIRP_CONFIG } from '../slirp/config';
import { parseNetdevUser } from '../slirp/netdev-options';
import type { Slirp } from '../slirp/slirp';
import { describeConditions, foreignConditionStage, NetworkConditions, parseNetemRule } from '../pipeline/netem';
import { NETEM_OPTIONS, parseNetemOptions } from './netem-options';
import { UsageError } from './usage-error';

export const SERVE_HELP = `usage: usernet serve (--socket PATH | --listen [HOST:]PORT) [--netdev OPTS] [--once]
                     [--netem 'RULE']... [--netem-seed N]

Listens first, then QEMU connects with
  -netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH -device e1000,netdev=n0
(or addr.type=inet,addr.host=HOST,addr.port=PORT). One guest per connection;
each gets its own slirp with the --netdev options (QEMU's -netdev user syntax).
When a QEMU goes away its slirp goes too (host sockets, hostfwd listeners);
--once stops serving after the first one. Ctrl-C stops serving.
--listen PORT binds 127.0.0.1; another address lets other machines' clients reach
this host's loopback services through their guest's 10.0.2.2 (a warning says so).
A QEMU that reads slowly is waited for: past 4 MiB queued toward it, its guest's
frames are not read until the queue drains (as QEMU's own net queue does).
Each guest gets the --netem conditions (see usernet run --help), seeded alike.
`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      socket: { type: 'string' },
      listen: { type: 'string' },
      netdev: { type: 'string' },
      once: { type: 'boolean' },
      ...NETEM_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (see usernet serve --help)`);
  if (!values.socket === !values.listen) throw new UsageError('give exactly one of --socket PATH or --listen HOST:PORT');
  let host: string | undefined;
  let port: number | undefined;
  if (values.listen) {
    // HOST:PORT, [IPv6]:PORT or a bare PORT (loopback).
    const m = /^(?:(\[[^\]]*\]|[^:]*):)?(\d+)$/.exec(values.listen);
    if (!m || Number(m[2]) > 65535) throw new UsageError(`--listen expects HOST:PORT, [IPv6]:PORT or PORT, got '${values.listen}'`);
    host = m[1]?.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    port = Number(m[2]);
    const warning = exposedListenWarning(host);
    if (warning) process.stderr.write(`usernet: warning: ${warning}\n`);
  }
  let config = DEFAULT_SLIRP_CONFIG;
  if (values.netdev !== undefined) {
    try {
      config = parseNetdevUser(values.netdev);
    } catch (e) {
      throw new UsageError(`--netdev: ${(e as Error).message}`);
    }
  }
  const netem = parseNetemOptions(values);
  // Every guest here is QEMU's: its NIC and net queue stages are not ours.
  for (const rule of netem.rules) {
    const foreign = foreignConditionStage(parseNetemRule(rule).stage, 'qemu');
    if (foreign) process.stderr.write(`usernet: warning: --netem '${rule}': ${foreign}\n`);
  }
  const conditions = new Map<Slirp, NetworkConditions>();
  let goneOnce: (() => void) | undefined;
  const server = await serveStream({
    path: values.socket,
    host,
    port,
    config,
    log: (msg) => process.stderr.write(`usernet: ${msg}\n`),
    onGuest: (slirp) => {
      process.stderr.write('usernet: QEMU connected\n');
      if (!netem.rules.length) return;
      const c = new NetworkConditions(slirp.probes, slirp.clock, { seed: netem.seed });
      for (const rule of netem.rules) c.add(rule);
      conditions.set(slirp, c);
      process.stderr.write(`usernet: ${describeConditions(c)}\n`);
    },
    onGuestGone: (slirp) => {
      conditions.get(slirp)?.dispose();
      conditions.delete(slirp);
      goneOnce?.();
    },
  }).catch((e: NodeJS.ErrnoException) => {
    const why =
      e.code === 'EADDRINUSE'
        ? 'it is in use: choose another'
        : e.code === 'EADDRNOTAVAIL'
          ? 'no such local address'
          : e.code === 'ENOENT' || e.code === 'ENOTDIR'
            ? `${e.message}: create it or choose another path`
            : e.message;
    throw new Error(`cannot listen on ${values.socket ?? values.listen}: ${why}`);
  });
  process.stderr.write(`usernet: serving on ${server.address}; QEMU connects with -netdev ${streamNetdev(server.address, values.socket !== undefined)} -device e1000,netdev=n0\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (values.once) goneOnce = stop;
  });
  await server.close();
  return 0;
}

/**
 * A guest's 10.0.2.2 is the host's loopback, so whoever can connect to serve
 * gets the host's loopback-only services: say so when others can connect.
 */
export function exposedListenWarning(host: string): string | undefined {
  if (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) return undefined;
  return (
    `--listen ${host} accepts connections from other machines, and each client's guest reaches ` +
    `this host's loopback services through 10.0.2.2: listen on 127.0.0.1 unless that is what you want`
  );
}

/** The -netdev option QEMU needs to reach this server. */
function streamNetdev(address: string, unix: boolean): string {
  if (unix) return `stream,id=n0,server=off,addr.type=unix,addr.path=${address}`;
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(address)!;
  return `stream,id=n0,server=off,addr.type=inet,addr.host=${m[1]},addr.port=${m[2]}`;
}

/**
 * CPU a stream backend spends per short TCP connection, with no VM: the
 * synthetic guest of bench/serve-cpu.ts opens connection after connection to a
 * loopback server, as `wget` of a tiny file does (SYN, a small request, a small
 * answer and the server's FIN, our FIN), through `usernet serve` and, side by
 * side, through passt. The backend process's CPU over a burst of connections,
 * divided by their number, is the figure (backends.ts measures the same under
 * QEMU, where the guest's and QEMU's time blur it).
 *
 *   scripts/netns-run.sh node --import tsx bench/serve-connections.ts [--connections 400] [--rounds 3]
 *     [--gap 0]          milliseconds of idle between connections (a guest opening one now and then:
 *                        the backend's event loop sleeps in between, as under QEMU)
 *     [--baseline DIR]   also run `usernet serve` from another checkout (built): an A/B of a change
 */
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { containmentProblem } from '../test/support/containment';
import { servePeers, startBackend, type RunningBackend } from './lib/backends';
import { freeLoopbackPort } from './lib/loopback';
import { commandLine, machineInfo, progress, publish, runBench } from './lib/report';
import { fmt, fmtSummary, summarize, withTimeout } from './lib/stats';
import { StreamGuest } from './lib/stream-guest';
import { processCpuNs } from './lib/thread-cpu';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '3' },
    gap: { type: 'string', default: '0' },
    baseline: { type: 'string' },
  },
});
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const GAP_MS = Number(values.gap);
if (!(CONNECTIONS >= 1 && CONNECTIONS <= 30_000)) throw new Error(`--connections: expected 1-30000, got "${values.connections}"`);
if (!(GAP_MS >= 0)) throw new Error(`--gap: expected milliseconds >= 0, got "${values.gap}"`);
/** A request line and headers the size of busybox wget's, and a tiny file with its response headers. */
const REQUEST_BYTES = 90;
const RESPONSE_BYTES = 300;
const MSS = 1460;

/** Answers each connection's first bytes with RESPONSE_BYTES, then ends it (an HTTP/1.0 server). */
async function startTinyServer(): Promise<{ port: number; served: () => number; close(): Promise<void> }> {
  const answer = Buffer.alloc(RESPONSE_BYTES, 0x61);
  let served = 0;
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => {
      served++;
      s.end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    served: () => served,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

interface Sample {
  /** Backend CPU per connection, ms. */
  cpuMs: number;
  perSecond: number;
}

async function oneConnection(guest: StreamGuest, port: number): Promise<void> {
  const tcp = guest.tcp(port, { mss: MSS, ackEvery: 1 });
  await withTimeout(tcp.connect(), 10_000, 'the connection');
  await withTimeout(tcp.push(REQUEST_BYTES, false), 10_000, 'the request');
  await withTimeout(tcp.received(RESPONSE_BYTES), 10_000, 'the answer');
  if (tcp.bytesReceived !== RESPONSE_BYTES) throw new Error(`received ${tcp.bytesReceived} of ${RESPONSE_BYTES} bytes (${tcp.state})`);
  await withTimeout(tcp.received(RESPONSE_BYTES + 1), 10_000, "the server's FIN");
  await withTimeout(tcp.close(), 10_000, 'the close');
  guest.forget(tcp);
}

async function burst(label: string, guest: StreamGuest, backend: RunningBackend, port: number): Promise<Sample> {
  const cpu0 = processCpuNs(backend.pid!);
  const t0 = performance.now();
  for (let i = 0; i < CONNECTIONS; i++) {
    if (GAP_MS) await new Promise((r) => setTimeout(r, GAP_MS));
    try {
      await oneConnection(guest, port);
    } catch (e) {
      throw new Error(`${label}, connection ${i + 1}: ${(e as Error).message}`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = (processCpuNs(backend.pid!) - cpu0) / 1e6;
  return { cpuMs: cpuMs / CONNECTIONS, perSecond: CONNECTIONS / seconds };
}

async function main(): Promise<void> {
  const problem = containmentProblem();
  if (problem || process.env.USERNET_NETNS !== '1') throw new Error(`run it through scripts/netns-run.sh: ${problem ?? 'USERNET_NETNS is not set'}`);
  const started = new Date().toISOString();
  const peers = await servePeers(values.baseline);
  const server = await startTinyServer();
  const running: Array<{ label: string; backend: RunningBackend; guest: StreamGuest }> = [];
  const samples = new Map<string, Sample[]>();
  const failures: string[] = [];
  try {
    for (const p of peers) {
      const backend = await startBackend(p.name, await freeLoopbackPort(), p.root);
      running.push({ label: p.label, backend, guest: await StreamGuest.connect(backend.socketPath!) });
    }
    // Warm-up: every path of the backend's JIT seen before timing.
    for (const r of running) await burst(r.label, r.guest, r.backend, server.port).catch((e: Error) => failures.push(`warm-up: ${e.message}`));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const r of round % 2 ? running : [...running].reverse()) {
        try {
          const s = await burst(r.label, r.guest, r.backend, server.port);
          samples.set(r.label, [...(samples.get(r.label) ?? []), s]);
          progress(`round ${round} ${r.label}: ${fmt(s.cpuMs)} ms CPU per connection, ${fmt(s.perSecond)} connections/s`);
        } catch (e) {
          failures.push(`round ${round}: ${(e as Error).message}`);
          progress(`FAILED ${failures.at(-1)}`);
        }
      }
    }
  } finally {
    for (const r of running) {
      r.guest.close();
      await r.backend.stop();
    }
    await server.close();
  }

  const summary = (label: string, pick: (s: Sample) => number) => summarize((samples.get(label) ?? []).map(pick));
  const ours = summary('usernet serve', (s) => s.cpuMs);
  const rows = peers.map((p) => {
    const cpu = summary(p.label, (s) => s.cpuMs);
    return [p.label, fmtSummary(cpu), ours && cpu ? `${(ours.median / cpu.median).toFixed(2)}x` : '—', fmtSummary(summary(p.label, (s) => s.perSecond))];
  });
  publish({
    name: GAP_MS ? `serve-connections-gap${GAP_MS}` : 'serve-connections',
    title: 'CPU per short connection in the backend process, synthetic guest, no VM: usernet serve vs passt',
    command: commandLine(__filename),
    date: started,
    machine: machineInfo(),
    params: { connections: CONNECTIONS, rounds: ROUNDS, gapMs: GAP_MS, requestBytes: REQUEST_BYTES, responseBytes: RESPONSE_BYTES, baseline: values.baseline ?? null },
    tables: [
      {
        caption: `${CONNECTIONS} sequential connections per round (a ${REQUEST_BYTES}-byte request, a ${RESPONSE_BYTES}-byte answer and FINs), ${GAP_MS} ms apart, ${ROUNDS} rounds, backends alternating; median [min-max]. CPU is the backend process's, every thread.`,
        headers: ['backend', 'ms CPU per connection', 'usernet serve / this', 'connections/s'],
        rows,
      },
    ],
    charts: [],
    notes: [
      'The synthetic guest runs in the benchmark process, whose CPU is not counted; it answers at once, so connections/s is bounded by it and by the loopback server as much as by the backend.',
      ...failures.slice(0, 20),
    ],
    raw: { samples: Object.fromEntries(samples), failures },
  });
}

runBench(main);

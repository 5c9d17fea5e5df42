/**
 * CPU a stream backend spends per MiB it moves, with no VM: a synthetic guest
 * (bench/lib/stream-guest.ts: Ethernet over QEMU's stream framing, LeanGuest
 * TCP) downloads from and uploads to loopback peers through `usernet serve`
 * and, side by side, through passt (Debian's `passt`, same socket protocol).
 * The backend's process CPU is read from /proc/PID/task/TID/schedstat around
 * each transfer. Under a real guest this CPU competes with QEMU's vCPU thread,
 * so it bounds bulk throughput on small machines (bench/backends.ts).
 *
 *   scripts/netns-run.sh node --import tsx bench/serve-cpu.ts [--mib 64] [--rounds 3] [--directions download,upload]
 *     [--mss 1460]       the MSS the synthetic guest announces: 1460 is an Ethernet link, 8960
 *                        the 9000-byte link usernet's lease offers by default
 *     [--baseline DIR]   also run `usernet serve` from another checkout (built), e.g. a
 *                        `git worktree` of main, side by side: an A/B of a change
 */
import { parseArgs } from 'node:util';
import { ETHERNET_MTU } from '../extension/slirp/config';
import { mssForMtu } from '../extension/slirp/tcp/limits';
import { containmentProblem } from '../test/support/containment';
import { servePeers, startBackend, type RunningBackend } from './lib/backends';
import { freeLoopbackPort, startSink, startSource } from './lib/loopback';
import { commandLine, machineInfo, progress, publish, runBench } from './lib/report';
import { fmt, fmtSummary, summarize, withTimeout } from './lib/stats';
import { StreamGuest } from './lib/stream-guest';
import { processCpuNs } from './lib/thread-cpu';

/** The MSS of an Ethernet link: the reference run's. */
const ETHERNET_MSS = mssForMtu(ETHERNET_MTU);

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' }, directions: { type: 'string', default: 'download,upload' }, mss: { type: 'string', default: String(ETHERNET_MSS) }, baseline: { type: 'string' } },
});
const BYTES = Number(values.mib) * 2 ** 20;
const ROUNDS = Number(values.rounds);
const MSS = Number(values.mss);
if (!(MSS >= 536 && MSS <= 65480)) throw new Error(`--mss: expected 536-65480, got "${values.mss}"`);
type Direction = 'download' | 'upload';
const DIRECTIONS = (['download', 'upload'] as const).filter((d) => values.directions!.split(',').includes(d));
if (!DIRECTIONS.length) throw new Error(`--directions: expected download, upload or both, got "${values.directions}"`);

interface Sample {
  msPerMiB: number;
  mbps: number;
}

/** One transfer; a failure names the backend and direction. */
async function transfer(label: string, guest: StreamGuest, backend: RunningBackend, dir: Direction, peers: { source: number; sink: Awaited<ReturnType<typeof startSink>> }): Promise<Sample> {
  try {
    return await transferOnce(guest, backend, dir, peers);
  } catch (e) {
    throw new Error(`${label} ${dir}: ${(e as Error).message}`);
  }
}

async function transferOnce(guest: StreamGuest, backend: RunningBackend, dir: Direction, peers: { source: number; sink: Awaited<ReturnType<typeof startSink>> }): Promise<Sample> {
  const tcp = guest.tcp(dir === 'download' ? peers.source : peers.sink.port, { mss: MSS });
  await withTimeout(tcp.connect(), 10_000, 'the connection through the backend');
  const cpu0 = processCpuNs(backend.pid!);
  const t0 = performance.now();
  if (dir === 'download') {
    await withTimeout(tcp.received(BYTES), 120_000, 'the download');
    if (tcp.bytesReceived !== BYTES) throw new Error(`received ${tcp.bytesReceived} of ${BYTES} bytes (${tcp.state})`);
  } else {
    const arrived = peers.sink.expect(BYTES);
    await withTimeout(tcp.push(BYTES), 120_000, 'the upload');
    await withTimeout(arrived, 30_000, 'the sink to see every byte');
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = (processCpuNs(backend.pid!) - cpu0) / 1e6;
  await withTimeout(tcp.close(), 10_000, 'the close').catch(() => tcp.abort());
  return { msPerMiB: cpuMs / (BYTES / 2 ** 20), mbps: BYTES / 1e6 / seconds };
}

async function main(): Promise<void> {
  const problem = containmentProblem();
  if (problem || process.env.USERNET_NETNS !== '1') throw new Error(`run it through scripts/netns-run.sh: ${problem ?? 'USERNET_NETNS is not set'}`);
  const started = new Date().toISOString();
  // The peers, side by side: this checkout's serve, optionally another checkout's, and passt.
  const peers = await servePeers(values.baseline);
  const source = await startSource(() => BYTES);
  const sink = await startSink();
  const running: Array<{ label: string; backend: RunningBackend; guest: StreamGuest }> = [];
  const samples = new Map<string, Sample[]>();
  const failures: string[] = [];
  const key = (label: string, dir: Direction) => `${label}/${dir}`;
  /** A peer that fails a transfer (passt of 2023 stalls some uploads) is noted, and the run goes on. */
  const attempt = async (r: (typeof running)[number], dir: Direction, round: number | 'warm-up') => {
    try {
      return await transfer(r.label, r.guest, r.backend, dir, { source: source.port, sink });
    } catch (e) {
      failures.push(`${round === 'warm-up' ? 'warm-up' : `round ${round}`}: ${(e as Error).message}`);
      progress(`FAILED ${failures.at(-1)}`);
      return undefined;
    }
  };
  try {
    for (const p of peers) {
      const backend = await startBackend(p.name, await freeLoopbackPort(), p.root);
      running.push({ label: p.label, backend, guest: await StreamGuest.connect(backend.socketPath!) });
    }
    for (const r of running) for (const dir of DIRECTIONS) await attempt(r, dir, 'warm-up');
    for (let round = 1; round <= ROUNDS; round++) {
      for (const dir of DIRECTIONS) {
        for (const r of round % 2 ? running : [...running].reverse()) {
          const s = await attempt(r, dir, round);
          if (!s) continue;
          samples.set(key(r.label, dir), [...(samples.get(key(r.label, dir)) ?? []), s]);
          progress(`round ${round} ${r.label} ${dir}: ${fmt(s.msPerMiB)} ms CPU/MiB, ${fmt(s.mbps)} MB/s`);
        }
      }
    }
  } finally {
    for (const r of running) {
      r.guest.close();
      await r.backend.stop();
    }
    await source.close();
    await sink.close();
  }

  const summary = (label: string, dir: Direction, pick: (s: Sample) => number) => summarize((samples.get(key(label, dir)) ?? []).map(pick));
  const others = peers.slice(1).map((p) => p.label);
  const rows = DIRECTIONS.map((dir) => {
    const ours = summary('usernet serve', dir, (s) => s.msPerMiB);
    return [
      dir,
      ...peers.map((p) => fmtSummary(summary(p.label, dir, (s) => s.msPerMiB))),
      ...others.map((label) => {
        const other = summary(label, dir, (s) => s.msPerMiB);
        return ours && other ? `${(ours.median / other.median).toFixed(2)}x` : '—';
      }),
      ...peers.map((p) => fmtSummary(summary(p.label, dir, (s) => s.mbps))),
    ];
  });
  const headers = ['direction', ...peers.map((p) => `${p.label} (ms CPU/MiB)`), ...others.map((l) => `usernet serve / ${l}`), ...peers.map((p) => `${p.label} (MB/s)`)];
  publish({
    // The Ethernet MSS is the reference run; another MSS is written beside it.
    name: MSS === ETHERNET_MSS ? 'serve-cpu' : `serve-cpu-mss${MSS}`,
    title: 'CPU per MiB in the backend process, synthetic guest, no VM: usernet serve vs passt',
    command: commandLine(__filename),
    date: started,
    machine: machineInfo(),
    params: { bytes: BYTES, rounds: ROUNDS, mss: MSS, baseline: values.baseline ?? null },
    tables: [
      {
        caption: `${Number(values.mib)} MiB per transfer, MSS ${MSS}, ${ROUNDS} rounds, backends alternating; median [min-max]. CPU is the backend process's, every thread.`,
        headers,
        rows,
      },
    ],
    charts: [],
    notes: [
      'The synthetic guest never loses a segment and ACKs every second one; it runs in the benchmark process, whose CPU is not counted.',
      'Throughput here is bounded by the synthetic guest and the benchmark process as much as by the backend: the CPU column is the figure.',
      ...failures.slice(0, 20),
    ],
    raw: { samples: Object.fromEntries(samples), failures },
  });
}

runBench(main);

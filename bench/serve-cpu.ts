/**
 * CPU a stream backend spends per MiB it moves, with no VM: a synthetic guest
 * (bench/lib/stream-guest.ts: Ethernet over QEMU's stream framing, LeanGuest
 * TCP) downloads from and uploads to loopback peers through `usernet serve`
 * and, side by side, through passt (Debian's `passt`, same socket protocol).
 * The backend's process CPU is read from /proc/PID/task/TID/schedstat around
 * each transfer. Under a real guest this CPU competes with QEMU's vCPU thread,
 * so it bounds bulk throughput on small machines (bench/backends.ts).
 *
 *   scripts/netns-run.sh node --import tsx bench/serve-cpu.ts [--mib 64] [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { containmentProblem } from '../test/support/containment';
import { addTemplateInterface, startBackend, type BackendName, type RunningBackend } from './lib/backends';
import { startSink, startSource } from './lib/loopback';
import { commandLine, machineInfo, progress, publish, runBench } from './lib/report';
import { fmt, fmtSummary, summarize, withTimeout } from './lib/stats';
import { StreamGuest } from './lib/stream-guest';
import { processCpuNs } from './lib/thread-cpu';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' } } });
const BYTES = Number(values.mib) * 2 ** 20;
const ROUNDS = Number(values.rounds);
const MSS = 1460;
type Direction = 'download' | 'upload';

interface Sample {
  msPerMiB: number;
  mbps: number;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function transfer(guest: StreamGuest, backend: RunningBackend, dir: Direction, peers: { source: number; sink: Awaited<ReturnType<typeof startSink>> }): Promise<Sample> {
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
  const names: BackendName[] = ['usernet'];
  if (spawnSync('passt', ['--version']).status === 0) {
    await addTemplateInterface();
    names.push('passt');
  } else {
    progress('passt is not installed (Debian package passt): measuring usernet serve alone');
  }
  const source = await startSource(() => BYTES);
  const sink = await startSink();
  const running: Array<{ name: BackendName; backend: RunningBackend; guest: StreamGuest }> = [];
  const samples = new Map<string, Sample[]>();
  try {
    for (const name of names) {
      const backend = await startBackend(name, await freePort());
      running.push({ name, backend, guest: await StreamGuest.connect(backend.socketPath!) });
    }
    for (const r of running) for (const dir of ['download', 'upload'] as const) await transfer(r.guest, r.backend, dir, { source: source.port, sink }); // warm-up
    for (let round = 1; round <= ROUNDS; round++) {
      for (const dir of ['download', 'upload'] as const) {
        for (const r of round % 2 ? running : [...running].reverse()) {
          const s = await transfer(r.guest, r.backend, dir, { source: source.port, sink });
          samples.set(`${r.name}/${dir}`, [...(samples.get(`${r.name}/${dir}`) ?? []), s]);
          progress(`round ${round} ${r.name} ${dir}: ${fmt(s.msPerMiB)} ms CPU/MiB, ${fmt(s.mbps)} MB/s`);
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

  const cell = (name: BackendName, dir: Direction, pick: (s: Sample) => number) => fmtSummary(summarize((samples.get(`${name}/${dir}`) ?? []).map(pick)));
  const median = (name: BackendName, dir: Direction) => summarize((samples.get(`${name}/${dir}`) ?? []).map((s) => s.msPerMiB))?.median;
  const rows = (['download', 'upload'] as const).map((dir) => {
    const ours = median('usernet', dir);
    const passt = median('passt', dir);
    return [
      dir,
      cell('usernet', dir, (s) => s.msPerMiB),
      names.includes('passt') ? cell('passt', dir, (s) => s.msPerMiB) : 'not installed',
      ours && passt ? `${(ours / passt).toFixed(1)}x` : '—',
      cell('usernet', dir, (s) => s.mbps),
      names.includes('passt') ? cell('passt', dir, (s) => s.mbps) : '—',
    ];
  });
  publish({
    name: 'serve-cpu',
    title: 'CPU per MiB in the backend process, synthetic guest, no VM: usernet serve vs passt',
    command: commandLine(__filename),
    date: started,
    machine: machineInfo(),
    params: { bytes: BYTES, rounds: ROUNDS, mss: MSS },
    tables: [
      {
        caption: `${Number(values.mib)} MiB per transfer, MSS ${MSS}, ${ROUNDS} rounds, backends alternating; median [min-max]. CPU is the backend process's, every thread.`,
        headers: ['direction', 'usernet serve (ms CPU/MiB)', 'passt (ms CPU/MiB)', 'usernet / passt', 'usernet serve (MB/s)', 'passt (MB/s)'],
        rows,
      },
    ],
    charts: [],
    notes: [
      'The synthetic guest never loses a segment and ACKs every second one; it runs in the benchmark process, whose CPU is not counted.',
      'Throughput here is bounded by the synthetic guest and the benchmark process as much as by the backend: the CPU column is the figure.',
    ],
    raw: Object.fromEntries(samples),
  });
}

runBench(main);

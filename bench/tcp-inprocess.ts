/**
 * Bulk TCP through TcpStack, in one process: a synthetic guest (LeanGuest)
 * pushes to and pulls from a loopback socket at MTU 1500 and 65520, side by
 * side with a plain Node loopback socket moving the same bytes (the physical
 * limit of this process and kernel), written in MSS-sized pieces (one socket
 * write per segment's worth, what a segment costs a plain socket) and in
 * 64 KiB pieces. Rounds alternate the peers; medians. The CPU ratio table
 * divides the stack's CPU per segment by the MSS-pieces socket's, round by round.
 *
 *   node --import tsx bench/tcp-inprocess.ts [--mib 128] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { AllocationMeter } from './lib/alloc';
import { startSink, startSource, loopbackPull, loopbackPush } from './lib/loopback';
import { commandLine, machineInfo, progress, publish, type Chart, runBench } from './lib/report';
import { StackBench } from './lib/stack-host';
import { fmt, fmtRatio, fmtSummary, ratio, summarize, type Summary } from './lib/stats';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '128' }, rounds: { type: 'string', default: '3' } } });
const BYTES = Number(values.mib) * 2 ** 20;
const ROUNDS = Number(values.rounds);

const MTUS = [1500, 65520] as const;
type Direction = 'push' | 'pull';
type PeerName = 'TcpStack' | 'loopback, MSS writes' | 'loopback, 64 KiB writes';

interface Sample {
  seconds: number;
  cpuSeconds: number;
  heapBytes: number;
  collections: number;
  /** Segments the bulk data took (for loopback peers: bytes / MSS, the same count the stack would need). */
  segments: number;
}

async function measure(run: () => Promise<number>, pieces: (segments: number) => number): Promise<Sample> {
  const meter = new AllocationMeter();
  const cpu0 = process.cpuUsage();
  meter.start();
  const t0 = performance.now();
  const segments = await run();
  const seconds = (performance.now() - t0) / 1000;
  const alloc = meter.stop();
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, heapBytes: alloc.heapBytes, collections: alloc.collections, segments: pieces(segments) };
}

async function stackRun(bench: StackBench, dir: Direction, mtu: number, bytes: number, sink: Awaited<ReturnType<typeof startSink>>, sourcePort: number): Promise<Sample> {
  const mss = mtu - 40;
  const g = bench.guest(dir === 'push' ? sink.port : sourcePort, { mss });
  await g.connect();
  try {
    return await measure(
      async () => {
        if (dir === 'push') {
          const arrived = sink.expect(bytes);
          await g.push(bytes);
          await arrived;
          return g.segmentsOut;
        }
        await g.received(bytes);
        if (g.bytesReceived !== bytes) throw new Error(`pulled ${g.bytesReceived} of ${bytes} bytes (${g.state})`);
        return g.segmentsIn;
      },
      (n) => n,
    );
  } finally {
    if (dir === 'pull') await g.close();
    g.abort();
    bench.forget(g);
  }
}

async function main(): Promise<void> {
  // The stack's own MSS follows the link MTU, as the slirp's would.
  const benches = new Map(MTUS.map((mtu) => [mtu as number, new StackBench({ mss: mtu - 40 })]));
  const sink = await startSink();
  let pullBytes = BYTES;
  const source = await startSource(() => pullBytes);
  const samples = new Map<string, Sample[]>();
  const key = (mtu: number, dir: Direction, peer: PeerName) => `${mtu}/${dir}/${peer}`;
  const add = (k: string, s: Sample) => samples.set(k, [...(samples.get(k) ?? []), s]);
  // Pulling, "MSS writes" is a source writing MSS-sized pieces to a plain socket that reads them.
  const sourcesMss = new Map<number, Awaited<ReturnType<typeof startSource>>>();
  for (const mtu of MTUS) sourcesMss.set(mtu, await startSource(() => pullBytes, mtu - 40));
  const peersFor = (_dir: Direction): PeerName[] => ['TcpStack', 'loopback, MSS writes', 'loopback, 64 KiB writes'];

  const runPeer = async (mtu: number, dir: Direction, peer: PeerName, bytes: number): Promise<Sample> => {
    const mss = mtu - 40;
    pullBytes = bytes;
    if (peer === 'TcpStack') return stackRun(benches.get(mtu)!, dir, mtu, bytes, sink, source.port);
    const perMss = () => Math.ceil(bytes / mss);
    if (dir === 'push') return measure(async () => (await loopbackPush(sink.port, sink, bytes, peer === 'loopback, MSS writes' ? mss : 65536), 0), perMss);
    return measure(async () => (await loopbackPull((peer === 'loopback, MSS writes' ? sourcesMss.get(mtu)! : source).port, bytes), 0), perMss);
  };

  progress('warming up');
  for (const mtu of MTUS) for (const dir of ['push', 'pull'] as const) for (const peer of peersFor(dir)) {
    if (process.env.BENCH_DEBUG) progress(`warm-up MTU ${mtu} ${dir} ${peer}`);
    await runPeer(mtu, dir, peer, 8 << 20);
  }

  for (let round = 1; round <= ROUNDS; round++) {
    for (const mtu of MTUS) {
      for (const dir of ['push', 'pull'] as const) {
        // Rotate the order each round, so no peer always runs first.
        const peers = peersFor(dir);
        const order = peers.map((_, i) => peers[(i + round) % peers.length]!);
        for (const peer of order) {
          const s = await runPeer(mtu, dir, peer, BYTES);
          add(key(mtu, dir, peer), s);
          progress(`round ${round} MTU ${mtu} ${dir} ${peer}: ${fmt((BYTES * 8) / s.seconds / 1e9)} Gbit/s`);
        }
      }
    }
  }
  for (const b of benches.values()) b.close();
  await sink.close();
  await source.close();
  for (const s of sourcesMss.values()) await s.close();

  const figures: Record<string, unknown> = {};
  // The stack against a plain socket handling the same segments' worth of bytes in MSS pieces, in the same round.
  const ratioRows: string[][] = [];
  for (const mtu of MTUS) {
    for (const dir of ['push', 'pull'] as const) {
      const stack = samples.get(key(mtu, dir, 'TcpStack')) ?? [];
      const plain = samples.get(key(mtu, dir, 'loopback, MSS writes')) ?? [];
      const perRound = stack.map((s, i) => (plain[i] ? s.cpuSeconds / s.segments / (plain[i]!.cpuSeconds / plain[i]!.segments) : NaN)).filter(Number.isFinite);
      const cpuRatio = summarize(perRound);
      const heap = summarize(stack.map((s) => s.heapBytes / s.segments));
      const payload = summarize(stack.map((s) => BYTES / s.segments));
      figures[`${mtu}/${dir}/cpu-vs-mss`] = { cpuRatio, heap, payload };
      ratioRows.push([String(mtu), dir, fmtSummary(cpuRatio), fmtSummary(heap), fmtSummary(payload), String(mtu - 40)]);
    }
  }

  const rows: string[][] = [];
  const charts: Chart[] = [];
  for (const mtu of MTUS) {
    for (const dir of ['push', 'pull'] as const) {
      const chart: Chart = { title: `MTU ${mtu}, ${dir === 'push' ? 'guest to host (push)' : 'host to guest (pull)'}`, unit: 'Gbit/s', higherIsBetter: true, bars: [] };
      const ref = summarize((samples.get(key(mtu, dir, 'loopback, 64 KiB writes')) ?? []).map((s) => (BYTES * 8) / s.seconds / 1e9));
      for (const peer of peersFor(dir)) {
        const ss = samples.get(key(mtu, dir, peer)) ?? [];
        const gbps = summarize(ss.map((s) => (BYTES * 8) / s.seconds / 1e9));
        const usPerSeg = summarize(ss.map((s) => (s.seconds * 1e6) / s.segments));
        const cpuUsPerSeg = summarize(ss.map((s) => (s.cpuSeconds * 1e6) / s.segments));
        const heapPerSeg = summarize(ss.map((s) => s.heapBytes / s.segments));
        const gcs = summarize(ss.map((s) => s.collections));
        const segs = ss[0]?.segments ?? 0;
        figures[key(mtu, dir, peer)] = { gbps, usPerSeg, cpuUsPerSeg, heapPerSeg, gcs, segments: segs };
        rows.push([
          String(mtu),
          dir,
          peer,
          fmtSummary(gbps),
          fmtRatio(ratio(gbps, ref, true)),
          fmtSummary(usPerSeg),
          fmtSummary(cpuUsPerSeg),
          fmtSummary(heapPerSeg),
          fmt(gcs?.median),
          String(segs),
        ]);
        chart.bars.push({ label: peer, value: gbps?.median ?? null, min: gbps?.min, max: gbps?.max });
      }
      charts.push(chart);
    }
  }

  publish({
    name: 'tcp-inprocess',
    title: 'Bulk TCP through TcpStack vs a plain loopback socket',
    command: commandLine(__filename),
    date: new Date().toISOString(),
    machine: machineInfo(),
    params: { bytesPerRun: BYTES, rounds: ROUNDS, mtus: MTUS },
    tables: [
      {
        caption: `Bulk TCP, ${BYTES / 2 ** 20} MiB per run, ${ROUNDS} rounds: median [min-max]. "vs loopback" = Gbit/s over the plain loopback socket with 64 KiB writes.`,
        headers: ['MTU', 'direction', 'peer', 'Gbit/s', 'vs loopback', 'µs/segment (wall)', 'CPU µs/segment', 'V8 heap bytes/segment', 'GCs/run', 'segments/run'],
        rows,
      },
      {
        caption: `TcpStack per segment against a plain loopback socket written in MSS-sized pieces, ${ROUNDS} rounds: median [min-max] of the per-round ratio of CPU per segment; the stack's V8 heap allocated per segment; its average segment payload (bytes / segments) beside the MSS.`,
        headers: ['MTU', 'direction', 'CPU per segment vs plain socket in MSS pieces', 'V8 heap bytes/segment', 'payload bytes/segment', 'MSS'],
        rows: ratioRows,
      },
    ],
    charts,
    notes: [
      'push: the guest sends (guest -> TcpStack -> host socket -> loopback sink). pull: a loopback source sends (host socket -> TcpStack -> guest).',
      'Per-segment figures of the loopback peers are per MSS-sized piece of the same byte stream (bytes / MSS), so they compare with the stack directly.',
      'V8 heap bytes allocated, from the GC profiler (growth between collections); Buffer contents (ArrayBuffers: socket reads, the copy handed to socket.write) are outside the V8 heap and not counted.',
      'The synthetic guest reuses one segment buffer and precomputes its payload checksum; the stack verifies every checksum (verifyChecksum: true, its default).',
    ],
    raw: Object.fromEntries([...samples.entries()]),
  });
  void figures;
}

runBench(main);

export type { Summary };

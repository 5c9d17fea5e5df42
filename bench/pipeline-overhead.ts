/**
 * What the pipeline tools cost a guest download: the same VM session and the
 * same 16 MiB wget from a host HTTP server (10.0.2.2), with
 *
 *   none     no probe armed (each stage pays one branch)
 *   none again  "none" once more: the run's noise floor
 *   1 bp     one conditional breakpoint that never matches, set as `usernet run
 *            --break` sets it (BreakpointManager: only its stage is armed; a
 *            stop's stage chain is replayed from its probes' trail)
 *   5 bp     five such breakpoints on stages the download crosses
 *   pcap     the net-queue capture to a file (`usernet run --pcap`)
 *   journey  journeys recorded for a filter that never matches (`usernet run --journey F`):
 *            every stage armed, the filter read once per frame
 *   journey all  every frame's journey recorded (what `usernet run --drops` runs), none printed
 *   flows    every frame's journey and the flow recorder (debug/flow-recorder.ts) on the
 *            NAT table, no flow view open: what the NAT Sessions view being visible costs
 *
 * One untimed download first warms the JIT and the guest's page cache; then
 * each round runs every configuration in a shuffled order, and each is compared
 * with the "none" of its own round (paired medians).
 * The goal is a non-matching breakpoint costing at most 5% of throughput.
 *
 * With --engine qemu the guest runs in QEMU (TCG) and only the slirp stages are
 * ours: this process's CPU time is then the stack's and the probes' alone, a
 * much steadier measure than under v86, whose emulation shares the process.
 *
 *   scripts/netns-run.sh node --import tsx bench/pipeline-overhead.ts [--rounds 25] [--mib 16] [--engine embedded|qemu]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCliCapture } from '../extension/cli/capture';
import { EmbeddedMachine } from '../extension/machine/embedded-machine';
import { bundledGuest } from '../extension/machine/guest-image';
import { plumbingArgs, QemuMachine } from '../extension/machine/qemu-machine';
import type { EngineKind } from '../extension/pipeline/stages';
import { DEFAULT_SLIRP_CONFIG } from '../extension/slirp/config';
import { BreakpointManager } from '../extension/pipeline/breakpoints';
import { compileFilter } from '../extension/pipeline/filter';
import { JourneyRecorder } from '../extension/pipeline/journey-recorder';
import { FlowRecorder } from '../extension/runtime/flow-recorder';
import { containmentProblem } from '../test/support/containment';
import { mbPerSecond, startTimedHttp } from './lib/host-peers';
import { machineInfo, progress, publish, runBench } from './lib/report';
import { fmt, fmtSummary, summarize, withTimeout } from './lib/stats';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '25' }, mib: { type: 'string', default: '16' }, engine: { type: 'string', default: 'embedded' } },
});
const ROUNDS = Number(values.rounds);
const BYTES = Number(values.mib) * 2 ** 20;
if (values.engine !== 'embedded' && values.engine !== 'qemu') throw new Error(`--engine: expected embedded or qemu, got "${values.engine}"`);
const ENGINE: EngineKind = values.engine;

/**
 * Conditions that never hold for the download (no such ports or addresses), on
 * stages it crosses. The first is the last stage of the way to the guest that is
 * ours under the engine: the e1000's under v86, slirp's hand-over under QEMU.
 */
const ONE_BREAKPOINT = [{ stage: ENGINE === 'embedded' ? 'e1000_receive_iov' : 'net_slirp_send_packet', condition: 'tcp.srcport == 1 && ip.src == 10.9.9.9' }];
const FIVE_BREAKPOINTS = [
  ...ONE_BREAKPOINT,
  ENGINE === 'embedded' ? { stage: 'qemu_receive_packet', condition: 'ip.src == 10.9.9.9' } : { stage: 'if_output', condition: 'ip.src == 10.9.9.9' },
  ENGINE === 'embedded' ? { stage: 'qemu_send_packet', condition: 'tcp.dstport == 1' } : { stage: 'net_slirp_receive', condition: 'tcp.dstport == 1' },
  { stage: 'tcp_input', condition: 'session.host.port == 1' },
  { stage: 'slirp_input', condition: 'udp.dstport == 1 || arp.opcode == 9' },
];

/** What the bench needs of either engine. */
type BenchVm = Pick<EmbeddedMachine, 'probes' | 'clock' | 'exec' | 'stop' | 'slirp'> & { serial: { write(data: Uint8Array): void } };

/** The bundled guest under QEMU (TCG, e1000) on our slirp in this process: this process's CPU is then the stack's and the probes' alone. */
async function startQemuGuest(): Promise<BenchVm> {
  const g = bundledGuest();
  return QemuMachine.start({
    slirp: DEFAULT_SLIRP_CONFIG,
    kvm: false,
    waitForPrompt: true,
    bootTimeoutMs: 300_000,
    onProgress: (m) => progress(m),
    buildArgs: (s) => ['-m', '256', '-kernel', g.bzImage, '-initrd', g.initrd, '-append', 'console=ttyS0 quiet tsc=reliable', '-device', 'e1000,netdev=n0', ...plumbingArgs(s, 'n0'), '-no-reboot'],
  });
}

/** A transfer that stalls fails its sample instead of the run. */
const TRANSFER_TIMEOUT_MS = 120_000;

/** Interrupts a stuck guest command (Ctrl-C) so the next sample gets a shell. */
async function recoverShell(vm: BenchVm): Promise<void> {
  vm.serial.write(Uint8Array.of(3));
  await vm.exec('true', 30_000).catch(() => {});
}

/** 'none again' is "none" measured twice a round: its cost against "none" is the noise floor of the run. */
type Config = 'none' | 'none again' | '1 bp' | '5 bp' | 'pcap' | 'journey' | 'journey all' | 'flows';
const CONFIGS: Config[] = ['none', 'none again', '1 bp', '5 bp', 'pcap', 'journey', 'journey all', 'flows'];
/** The journey filter: no frame of the download matches it. */
const JOURNEY_FILTER = 'ip.addr == 10.9.9.9';

/** A fixed-seed shuffle per round: no configuration keeps a place (after "none", say) across rounds. */
function roundOrder(round: number): Config[] {
  let seed = 0x9e3779b9 ^ round;
  const next = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const order = [...CONFIGS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

interface Sample {
  config: Config;
  round: number;
  mbps?: number;
  /** This process's CPU time (the emulator, the stack and the probes) per MiB moved: steadier than wall time on a busy machine. */
  cpuMsPerMiB?: number;
  error?: string;
}

/** Arms what `config` needs; returns the function that disarms it (and checks nothing stopped). */
function arm(vm: BenchVm, config: Config, dir: string): () => Promise<void> {
  if (config === 'none' || config === 'none again') return async () => {};
  if (config === 'journey' || config === 'journey all') {
    const filter = config === 'journey' ? compileFilter(JOURNEY_FILTER) : undefined;
    const recorder = new JourneyRecorder(vm.probes, { clock: vm.clock, engine: ENGINE, ...(filter ? { filter } : {}) });
    let recorded = 0;
    recorder.listen((e) => void (e.type === 'end' && recorded++));
    const stop = recorder.start();
    return async () => {
      stop();
      if (config === 'journey' && recorded) throw new Error(`${recorded} journeys recorded: the filter matched`);
    };
  }
  if (config === 'flows') {
    const nat = vm.slirp?.nat;
    if (!nat) throw new Error('the VM has no slirp: no NAT table to record flows from');
    const journeys = new JourneyRecorder(vm.probes, { clock: vm.clock, engine: ENGINE });
    const flows = new FlowRecorder(nat, vm.clock);
    const stopJourneys = journeys.start();
    const stopFlows = flows.start(journeys, vm.probes);
    return async () => {
      stopFlows();
      stopJourneys();
      if (!flows.sessionIds.length) throw new Error('no flow recorded');
    };
  }
  if (config === 'pcap') {
    const capture = startCliCapture(vm.probes, { file: join(dir, 'bench.pcap') }, ENGINE);
    return async () => void (await capture.stop());
  }
  const manager = new BreakpointManager(vm.probes, { clock: vm.clock });
  let stops = 0;
  manager.onStop = () => {
    stops++;
    manager.continue();
  };
  const statuses = manager.set(config === '1 bp' ? ONE_BREAKPOINT : FIVE_BREAKPOINTS);
  const bad = statuses.find((s) => !s.verified);
  if (bad) throw new Error(`breakpoint ${bad.id}: ${bad.message}`);
  return async () => {
    manager.dispose();
    if (stops) throw new Error(`${stops} stops: a condition matched`);
  };
}

async function main(): Promise<void> {
  const problem = containmentProblem();
  if (problem) throw new Error(`refusing to run outside a private network namespace (${problem}): use scripts/netns-run.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'usernet-bench-'));
  const http = await startTimedHttp({ '/file': Buffer.alloc(BYTES, 0x5a) });
  const vm: BenchVm = ENGINE === 'embedded' ? await EmbeddedMachine.start({ onProgress: (m) => progress(m) }) : await startQemuGuest();
  const samples: Sample[] = [];
  try {
    const lease = await vm.exec('udhcpc -i eth0 -q -n -t 5 >/dev/null 2>&1', 60_000);
    if (lease.status !== 0) throw new Error('udhcpc failed in the guest');
    const warmed = http.next();
    const warm = await vm.exec(`wget -q -O /dev/null http://10.0.2.2:${http.port}/file`, TRANSFER_TIMEOUT_MS);
    if (warm.status !== 0) throw new Error(`warm-up wget failed: ${warm.output.trim()}`);
    await withTimeout(warmed, 30_000, 'the warm-up transfer');
    for (let round = 1; round <= ROUNDS; round++) {
      const order = roundOrder(round);
      for (const config of order) {
        const disarm = arm(vm, config, dir);
        try {
          const transfer = http.next();
          const cpu0 = process.cpuUsage();
          const r = await vm.exec(`wget -q -O /dev/null http://10.0.2.2:${http.port}/file`, TRANSFER_TIMEOUT_MS);
          if (r.status !== 0) throw new Error(`wget failed: ${r.output.trim()}`);
          const t = await withTimeout(transfer, 30_000, 'the transfer');
          const cpu = process.cpuUsage(cpu0);
          await disarm();
          const cpuMsPerMiB = (cpu.user + cpu.system) / 1000 / (BYTES / 2 ** 20);
          samples.push({ config, round, mbps: mbPerSecond(t), cpuMsPerMiB });
          progress(`round ${round} ${config}: ${fmt(mbPerSecond(t))} MB/s, ${fmt(cpuMsPerMiB)} CPU ms/MiB`);
        } catch (e) {
          await disarm().catch(() => {});
          samples.push({ config, round, error: (e as Error).message.split('\n')[0] });
          progress(`round ${round} ${config}: ${(e as Error).message}`);
          await recoverShell(vm);
        }
      }
    }
  } finally {
    await vm.stop();
    await http.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const byConfig = new Map(CONFIGS.map((c) => [c, summarize(samples.filter((s) => s.config === c && s.mbps !== undefined).map((s) => s.mbps!))]));
  const cpuByConfig = new Map(CONFIGS.map((c) => [c, summarize(samples.filter((s) => s.config === c && s.cpuMsPerMiB !== undefined).map((s) => s.cpuMsPerMiB!))]));
  const none = byConfig.get('none');
  const cpuNone = cpuByConfig.get('none');
  const overhead = (c: Config) => {
    const s = byConfig.get(c);
    return s && none ? none.median / s.median - 1 : null;
  };
  const cpuOverhead = (c: Config) => {
    const s = cpuByConfig.get(c);
    return s && cpuNone ? s.median / cpuNone.median - 1 : null;
  };
  // Paired: each configuration against "none" of the same round, which cancels slow drifts of the machine.
  const pairedCost = (c: Config, metric: (s: Sample) => number | undefined, invert: boolean) => {
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const base = samples.find((s) => s.round === round && s.config === 'none');
      const at = samples.find((s) => s.round === round && s.config === c);
      const b = base && metric(base);
      const v = at && metric(at);
      if (b && v) ratios.push(invert ? b / v - 1 : v / b - 1);
    }
    return summarize(ratios)?.median ?? null;
  };
  const pct = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);
  const rows = CONFIGS.map((c) => [
    c,
    fmtSummary(byConfig.get(c)),
    c === 'none' ? '1.00x' : byConfig.get(c) && none ? `${(byConfig.get(c)!.median / none.median).toFixed(2)}x` : '—',
    c === 'none' ? '—' : pct(overhead(c)),
    fmtSummary(cpuByConfig.get(c)),
    c === 'none' ? '—' : pct(cpuOverhead(c)),
    c === 'none' ? '—' : pct(pairedCost(c, (s) => s.mbps, true)),
    c === 'none' ? '—' : pct(pairedCost(c, (s) => s.cpuMsPerMiB, false)),
  ]);
  const journey = pairedCost('journey', (s) => s.mbps, true);
  const journeyCpu = pairedCost('journey', (s) => s.cpuMsPerMiB, false);
  const oneBp = pairedCost('1 bp', (s) => s.mbps, true);
  const oneBpCpu = pairedCost('1 bp', (s) => s.cpuMsPerMiB, false);
  const noise = pairedCost('none again', (s) => s.mbps, true);
  const cpuNoise = pairedCost('none again', (s) => s.cpuMsPerMiB, false);
  const verdict = (x: number | null) => (x === null ? 'not measured' : x <= 0.05 ? `met (${pct(x)})` : `missed (${pct(x)})`);
  const failures = samples.filter((s) => s.error);
  publish({
    name: ENGINE === 'embedded' ? 'pipeline-overhead' : 'pipeline-overhead-qemu',
    title: ENGINE === 'embedded' ? 'Pipeline tools: cost to a guest download' : 'Pipeline tools: cost to a guest download, QEMU engine',
    command: `scripts/netns-run.sh node --import tsx bench/pipeline-overhead.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    machine: machineInfo(),
    params: { engine: ENGINE, rounds: ROUNDS, bytes: BYTES, oneBreakpoint: ONE_BREAKPOINT, fiveBreakpoints: FIVE_BREAKPOINTS, journeyFilter: JOURNEY_FILTER },
    tables: [{
      caption: `${fmt(BYTES / 2 ** 20)} MiB wget from 10.0.2.2 in one VM session (${ENGINE === 'embedded' ? 'v86' : 'QEMU TCG on our slirp in this process'}), ${ROUNDS} rounds (median [min-max]; time cost = none / config - 1; CPU = this process's user+system time per MiB${ENGINE === 'embedded' ? ' (emulator included)' : ' (the stack and the probes only)'}, cost = config / none - 1; paired = median over rounds of the cost against that round's "none")`,
      headers: ['probes', 'download MB/s', 'throughput vs none', 'time cost', 'CPU ms per MiB', 'CPU cost', 'time cost, paired', 'CPU cost, paired'],
      rows,
    }],
    charts: [{
      title: 'Guest download with pipeline tools armed',
      unit: 'MB/s',
      higherIsBetter: true,
      bars: CONFIGS.map((c) => {
        const s = byConfig.get(c);
        return s ? { label: c, value: s.median, min: s.min, max: s.max } : { label: c, value: null, note: 'no sample' };
      }),
    }],
    notes: [
      `goal: a non-matching breakpoint costs at most 5% (paired medians): by throughput ${verdict(oneBp)}, by CPU time ${verdict(oneBpCpu)}; the same download measured twice ("none again") differs by ${pct(noise)} / ${pct(cpuNoise)}: smaller differences are noise`,
      `goal: journeys on for a filter cost at most 5% (paired medians): by throughput ${verdict(journey)}, by CPU time ${verdict(journeyCpu)}`,
      `load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${machineInfo().cpus} CPUs (wall-clock figures are only as steady as the machine)`,
      ...failures.map((f) => `round ${f.round} ${f.config} failed: ${f.error}`),
    ],
    raw: samples,
  });
  if (failures.length === samples.length) process.exitCode = 1;
}

runBench(main);

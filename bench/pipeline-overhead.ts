/**
 * What the pipeline tools cost a guest download: the same VM session and the
 * same 8 MiB wget from a host HTTP server (10.0.2.2), with
 *
 *   none     no probe armed (each stage pays one branch)
 *   1 bp     one conditional breakpoint that never matches, set as `usernet run
 *            --break` sets it (BreakpointManager: the stage and every stage
 *            upstream of it armed, to build the stage chain)
 *   5 bp     five such breakpoints on stages the download crosses
 *   pcap     the net-queue capture to a file (`usernet run --pcap`)
 *
 * The configurations rotate round by round; medians are compared with "none".
 * The goal is a non-matching breakpoint costing at most 5% of throughput.
 *
 *   scripts/netns-run.sh node --import tsx bench/pipeline-overhead.ts [--rounds 3] [--mib 8]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCliCapture } from '../extension/cli/capture';
import { EmbeddedMachine } from '../extension/machine/embedded-machine';
import { BreakpointManager } from '../extension/pipeline/breakpoints';
import { containmentProblem } from '../test/support/containment';
import { mbPerSecond, startTimedHttp } from './lib/host-peers';
import { machineInfo, progress, publish } from './lib/report';
import { fmt, fmtSummary, summarize, withTimeout } from './lib/stats';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, mib: { type: 'string', default: '8' } } });
const ROUNDS = Number(values.rounds);
const BYTES = Number(values.mib) * 2 ** 20;

/** Conditions that never hold for the download (no such ports or addresses), on stages it crosses. */
const ONE_BREAKPOINT = [{ stage: 'e1000_receive_iov', condition: 'tcp.srcport == 1 && ip.src == 10.9.9.9' }];
const FIVE_BREAKPOINTS = [
  ...ONE_BREAKPOINT,
  { stage: 'qemu_receive_packet', condition: 'ip.src == 10.9.9.9' },
  { stage: 'qemu_send_packet', condition: 'tcp.dstport == 1' },
  { stage: 'tcp_input', condition: 'session.host.port == 1' },
  { stage: 'slirp_input', condition: 'udp.dstport == 1 || arp.opcode == 9' },
];

/** A transfer that stalls fails its sample instead of the run. */
const TRANSFER_TIMEOUT_MS = 120_000;

/** Interrupts a stuck guest command (Ctrl-C) so the next sample gets a shell. */
async function recoverShell(vm: EmbeddedMachine): Promise<void> {
  vm.serial.write(Uint8Array.of(3));
  await vm.exec('true', 30_000).catch(() => {});
}

type Config = 'none' | '1 bp' | '5 bp' | 'pcap';
const CONFIGS: Config[] = ['none', '1 bp', '5 bp', 'pcap'];

interface Sample {
  config: Config;
  round: number;
  mbps?: number;
  /** This process's CPU time (the emulator, the stack and the probes) per MiB moved: steadier than wall time on a busy machine. */
  cpuMsPerMiB?: number;
  error?: string;
}

/** Arms what `config` needs; returns the function that disarms it (and checks nothing stopped). */
function arm(vm: EmbeddedMachine, config: Config, dir: string): () => Promise<void> {
  if (config === 'none') return async () => {};
  if (config === 'pcap') {
    const capture = startCliCapture(vm.probes, { file: join(dir, 'bench.pcap') });
    return async () => void (await capture.stop());
  }
  const manager = new BreakpointManager(vm.probes, { clock: vm.clock, engine: 'embedded' });
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
  const http = await startTimedHttp({ '/file': Buffer.alloc(BYTES, 0x5a), '/small': Buffer.alloc(64 * 1024, 1) });
  const vm = await EmbeddedMachine.start({ onProgress: (m) => progress(m) });
  const samples: Sample[] = [];
  try {
    const lease = await vm.exec('udhcpc -i eth0 -q -n -t 5 >/dev/null 2>&1', 60_000);
    if (lease.status !== 0) throw new Error('udhcpc failed in the guest');
    const warm = await vm.exec(`wget -q -O /dev/null http://10.0.2.2:${http.port}/small`, 60_000);
    if (warm.status !== 0) throw new Error(`warm-up wget failed: ${warm.output.trim()}`);
    await withTimeout(http.next(), 10_000, 'the warm-up transfer');
    for (let round = 1; round <= ROUNDS; round++) {
      // Rotate the order so no configuration always runs first (or last) in a round.
      const order = CONFIGS.map((_, i) => CONFIGS[(i + round - 1) % CONFIGS.length]!);
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
  const pct = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);
  const rows = CONFIGS.map((c) => [
    c,
    fmtSummary(byConfig.get(c)),
    c === 'none' ? '1.00x' : byConfig.get(c) && none ? `${(byConfig.get(c)!.median / none.median).toFixed(2)}x` : '—',
    c === 'none' ? '—' : pct(overhead(c)),
    fmtSummary(cpuByConfig.get(c)),
    c === 'none' ? '—' : pct(cpuOverhead(c)),
  ]);
  const oneBp = overhead('1 bp');
  const oneBpCpu = cpuOverhead('1 bp');
  const verdict = (x: number | null) => (x === null ? 'not measured' : x <= 0.05 ? `met (${pct(x)})` : `missed (${pct(x)})`);
  const failures = samples.filter((s) => s.error);
  publish({
    name: 'pipeline-overhead',
    title: 'Pipeline tools: cost to a guest download',
    command: `scripts/netns-run.sh node --import tsx bench/pipeline-overhead.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    machine: machineInfo(),
    params: { rounds: ROUNDS, bytes: BYTES, oneBreakpoint: ONE_BREAKPOINT, fiveBreakpoints: FIVE_BREAKPOINTS },
    tables: [{
      caption: `${fmt(BYTES / 2 ** 20)} MiB wget from 10.0.2.2 in one VM session, ${ROUNDS} rounds (median [min-max]; time cost = none / config - 1; CPU = this process's user+system time per MiB, cost = config / none - 1)`,
      headers: ['probes', 'download MB/s', 'throughput vs none', 'time cost', 'CPU ms per MiB', 'CPU cost'],
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
      `goal: a non-matching breakpoint costs at most 5%: by throughput ${verdict(oneBp)}, by CPU time ${verdict(oneBpCpu)}`,
      `load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${machineInfo().cpus} CPUs (wall-clock figures are only as steady as the machine)`,
      ...failures.map((f) => `round ${f.round} ${f.config} failed: ${f.error}`),
    ],
    raw: samples,
  });
  if (failures.length === samples.length) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`pipeline-overhead: ${(e as Error).message}\n`);
  process.exit(1);
});

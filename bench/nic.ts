/**
 * Our e1000 against v86's built-in virtio-net and ne2k: the same bundled
 * guest (all three drivers built in), the same slirp behind each, one VM per
 * NIC restored from its own snapshot, the NICs alternating round by round.
 *
 *   upload    guest `dd if=/dev/zero bs=1k | nc 10.0.2.2 PORT` into a host sink
 *   download  guest `wget -O /dev/null http://10.0.2.2:PORT/file` from a host HTTP server
 *   ping      guest `ping -A -c N 10.0.2.2` (adaptive: the next echo leaves when
 *             the reply is in), small frames one round trip at a time
 *
 * Transfer times are taken on the host (accept to end of transfer). Frames are
 * counted in the net queue; interrupts in the guest's /proc/interrupts.
 *
 *   scripts/netns-run.sh node --import tsx bench/nic.ts [--rounds 3] [--upload-kib 512] [--download-mib 2] [--pings 100]
 */
import { parseArgs } from 'node:util';
import { EmbeddedMachine } from '../extension/machine/embedded-machine';
import { DEFAULT_SLIRP_CONFIG, ETHERNET_MTU } from '../extension/slirp/config';
import { containmentProblem } from '../test/support/containment';
import { nicInterrupts, parsePing } from './lib/guest-output';
import { mbPerSecond, seconds, startTimedHttp, startTimedSink } from './lib/host-peers';
import { commandLine, machineInfo, progress, publish, type Chart, runBench } from './lib/report';
import { fmt, fmtRatio, fmtSummary, ratio, summarize, withTimeout } from './lib/stats';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'upload-kib': { type: 'string', default: '512' },
    'download-mib': { type: 'string', default: '2' },
    pings: { type: 'string', default: '100' },
  },
});
const ROUNDS = Number(values.rounds);
const UPLOAD_KIB = Number(values['upload-kib']);
const DOWNLOAD_BYTES = Number(values['download-mib']) * 2 ** 20;
const PINGS = Number(values.pings);
const NICS = ['e1000', 'virtio', 'ne2k'] as const;
type Nic = (typeof NICS)[number];

interface RoundSample {
  nic: Nic;
  round: number;
  restoreMs: number;
  uploadMBps?: number;
  uploadFramesPerSec?: number;
  uploadIrqPerMB?: number;
  downloadMBps?: number;
  downloadFramesPerSec?: number;
  downloadIrqPerMB?: number;
  pingRoundTripsPerSec?: number;
  pingFramesPerSec?: number;
  pingAvgMs?: number;
  error?: string;
}

async function irqs(vm: EmbeddedMachine): Promise<number> {
  const r = await vm.exec('cat /proc/interrupts', 30_000);
  const n = nicInterrupts(r.output);
  if (n === null) throw new Error(`no NIC line in /proc/interrupts:\n${r.output}`);
  return n;
}

const ETHERNET_LINK = { ...DEFAULT_SLIRP_CONFIG, mtu: ETHERNET_MTU };

async function runNic(nic: Nic, round: number, sink: Awaited<ReturnType<typeof startTimedSink>>, http: Awaited<ReturnType<typeof startTimedHttp>>): Promise<RoundSample> {
  const t0 = performance.now();
  // v86's ne2k takes a new random MAC each time it is created, so after restore_state it drops unicast
  // frames for the MAC the restored guest uses: the ne2k VM boots cold every round instead.
  const snapshot = nic === 'ne2k' ? 'off' : 'use';
  // A start that hangs (seen once in a restore under heavy load) fails the sample instead of the run.
  let vm: EmbeddedMachine;
  try {
    // Ethernet's MTU for every NIC: ne2k cannot take the jumbo one the lease offers by default, and the NICs are compared on the same link.
    vm = await withTimeout(EmbeddedMachine.start({ nic, snapshot, netdev: ETHERNET_LINK, onProgress: (m) => progress(`${nic}: ${m}`) }), 240_000, `starting the ${nic} VM`);
  } catch (e) {
    return { nic, round, restoreMs: NaN, error: (e as Error).message.split('\n')[0] };
  }
  const s: RoundSample = { nic, round, restoreMs: performance.now() - t0 };
  const step = (what: string) => process.env.BENCH_DEBUG && progress(`${nic}: ${what}`);
  try {
    const lease = await vm.exec('udhcpc -i eth0 -q -n -t 5 >/dev/null 2>&1', 60_000);
    if (lease.status !== 0) throw new Error('udhcpc failed');
    step('warm-up wget');
    // One small exchange first, so ARP and the TCP path are warm for every NIC alike.
    http.clear();
    const w = await vm.exec(`wget -q -O /dev/null http://10.0.2.2:${http.port}/small`, 60_000);
    if (w.status !== 0) throw new Error(`warm-up wget failed: ${w.output.trim()}`);
    await http.next(10_000, 'warm-up transfer');

    step('upload');
    const stats = vm.netQueue.stats;
    let irq0 = await irqs(vm);
    let frames0 = stats.toBackend;
    sink.clear();
    const up = sink.next(300_000, 'the sink to see the end of the upload');
    const u = await vm.exec(`dd if=/dev/zero bs=1k count=${UPLOAD_KIB} 2>/dev/null | nc 10.0.2.2 ${sink.port}`, 300_000);
    if (u.status !== 0) throw new Error(`upload failed: ${u.output}`);
    const ut = await up;
    if (ut.bytes !== UPLOAD_KIB * 1024) throw new Error(`upload: sink got ${ut.bytes} of ${UPLOAD_KIB * 1024} bytes`);
    s.uploadMBps = mbPerSecond(ut);
    s.uploadFramesPerSec = (stats.toBackend - frames0) / seconds(ut);
    let irq1 = await irqs(vm);
    s.uploadIrqPerMB = (irq1 - irq0) / (ut.bytes / 1e6);

    step('download');
    irq0 = irq1;
    frames0 = stats.toNic;
    http.clear();
    const down = http.next(300_000, 'the guest to close the download');
    const d = await vm.exec(`wget -q -O /dev/null http://10.0.2.2:${http.port}/file`, 300_000);
    if (d.status !== 0) throw new Error(`download failed: ${d.output}`);
    const dt = await down;
    s.downloadMBps = mbPerSecond(dt);
    s.downloadFramesPerSec = (stats.toNic - frames0) / seconds(dt);
    irq1 = await irqs(vm);
    s.downloadIrqPerMB = (irq1 - irq0) / (dt.bytes / 1e6);

    step('ping');
    const f0 = stats.toBackend + stats.toNic;
    const p0 = performance.now();
    const p = await vm.exec(`ping -A -q -c ${PINGS} 10.0.2.2`, 300_000);
    const ps = (performance.now() - p0) / 1000;
    const ping = parsePing(p.output);
    if (!ping || ping.received === 0) throw new Error(`ping failed: ${p.output}`);
    // Wall time of the whole command (ping's own start-up included, the same for every NIC).
    s.pingRoundTripsPerSec = ping.received / ps;
    s.pingFramesPerSec = (stats.toBackend + stats.toNic - f0) / ps;
    s.pingAvgMs = ping.avg;
  } catch (e) {
    s.error = (e as Error).message.split('\n')[0];
  } finally {
    await vm.stop();
  }
  return s;
}

interface Metric {
  key: keyof RoundSample;
  label: string;
  unit: string;
  higherIsBetter: boolean;
  chart: boolean;
}

const METRICS: Metric[] = [
  { key: 'uploadMBps', label: 'upload guest->host (dd | nc)', unit: 'MB/s', higherIsBetter: true, chart: true },
  { key: 'uploadFramesPerSec', label: 'upload frames/s (guest->host)', unit: 'frames/s', higherIsBetter: true, chart: false },
  { key: 'downloadMBps', label: 'download host->guest (wget)', unit: 'MB/s', higherIsBetter: true, chart: true },
  { key: 'downloadFramesPerSec', label: 'download frames/s (host->guest)', unit: 'frames/s', higherIsBetter: true, chart: false },
  { key: 'pingRoundTripsPerSec', label: 'ping -A round trips/s', unit: 'round trips/s', higherIsBetter: true, chart: true },
  { key: 'pingFramesPerSec', label: 'ping -A frames/s (both ways)', unit: 'frames/s', higherIsBetter: true, chart: false },
  { key: 'pingAvgMs', label: 'ping -A average RTT', unit: 'ms', higherIsBetter: false, chart: false },
  { key: 'uploadIrqPerMB', label: 'guest interrupts per MB, upload', unit: 'irq/MB', higherIsBetter: false, chart: false },
  { key: 'downloadIrqPerMB', label: 'guest interrupts per MB, download', unit: 'irq/MB', higherIsBetter: false, chart: true },
];

async function main(): Promise<void> {
  const problem = containmentProblem();
  if (problem) throw new Error(`refusing to run guests outside a private network namespace: ${problem}. Run it through scripts/netns-run.sh.`);
  const sink = await startTimedSink();
  const http = await startTimedHttp({ '/file': Buffer.alloc(DOWNLOAD_BYTES, 0x5a), '/small': Buffer.alloc(1024, 0x5a) });
  const samples: RoundSample[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Rotate the order so no NIC always runs first (or right after another).
    const order = NICS.map((_, i) => NICS[(i + round - 1) % NICS.length]!);
    for (const nic of order) {
      const s = await runNic(nic, round, sink, http);
      samples.push(s);
      progress(
        `round ${round} ${nic}: ${s.error ? `FAILED ${s.error}` : `up ${fmt(s.uploadMBps)} MB/s, down ${fmt(s.downloadMBps)} MB/s, ping ${fmt(s.pingRoundTripsPerSec)}/s, irq/MB ${fmt(s.uploadIrqPerMB)}/${fmt(s.downloadIrqPerMB)}`}`,
      );
    }
  }
  await sink.close();
  await http.close();

  const by = (nic: Nic, key: keyof RoundSample) => summarize(samples.filter((s) => s.nic === nic && !s.error).map((s) => s[key] as number));
  const rows: string[][] = [];
  const charts: Chart[] = [];
  for (const m of METRICS) {
    const ref = by('e1000', m.key);
    const row = [`${m.label} (${m.unit})`];
    for (const nic of NICS) row.push(fmtSummary(by(nic, m.key)));
    for (const nic of NICS.slice(1)) row.push(fmtRatio(ratio(by(nic, m.key), ref, m.higherIsBetter)));
    rows.push(row);
    if (m.chart) {
      charts.push({
        title: m.label,
        unit: m.unit,
        higherIsBetter: m.higherIsBetter,
        bars: NICS.map((nic) => {
          const s = by(nic, m.key);
          return { label: nic === 'e1000' ? 'e1000 (ours)' : `${nic} (v86)`, value: s?.median ?? null, min: s?.min, max: s?.max };
        }),
      });
    }
  }
  const failures = samples.filter((s) => s.error).map((s) => `round ${s.round} ${s.nic}: ${s.error}`);
  publish({
    name: 'nic',
    title: 'NICs under v86: our e1000 vs v86 virtio-net and ne2k, same guest, same slirp',
    command: commandLine(__filename),
    date: new Date().toISOString(),
    machine: machineInfo(),
    params: { rounds: ROUNDS, uploadBytes: UPLOAD_KIB * 1024, downloadBytes: DOWNLOAD_BYTES, pings: PINGS },
    tables: [
      {
        caption: `${ROUNDS} rounds, NICs alternating; median [min-max]. Ratios are the NIC's figure against the e1000's, oriented so > 1 means better than the e1000.`,
        headers: ['figure', 'e1000 (ours)', 'virtio-net (v86)', 'ne2k (v86)', 'virtio vs e1000', 'ne2k vs e1000'],
        rows,
      },
    ],
    charts,
    notes: [
      `Upload: ${UPLOAD_KIB} KiB from /dev/zero through busybox nc (it writes ~1 KiB per loop, so the guest bounds it). Download: ${DOWNLOAD_BYTES / 2 ** 20} MiB by wget. Times from the host side (accept or request to end of transfer).`,
      `Ping: ${PINGS} echoes of 56 bytes with -A (adaptive), timed over the whole command; frames counted both ways in the net queue.`,
      'e1000 and virtio VMs are restored from their own snapshots (keyed by NIC model). The ne2k VM boots cold each round: v86\'s ne2k draws a random MAC whenever it is created, so after a restore it drops unicast frames for the MAC the restored guest uses (wget: "No route to host").',
      'Interrupts per MB: the NIC\'s line in the guest\'s /proc/interrupts (eth0 for e1000 and ne2k, virtio0 for virtio) around each transfer.',
      ...failures.map((f) => `FAILED ${f}`),
    ],
    raw: samples,
  });
}

runBench(main);

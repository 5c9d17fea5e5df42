/**
 * Regenerates docs/benchmarks.md and its charts (docs/charts/*.svg) from the
 * committed results in bench/results/*.json: every table there is the one a
 * benchmark printed, under the command that produced it.
 *
 *   node --import tsx bench/docs.ts
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable, RESULTS_DIR, type BenchResult } from './lib/report';
import { renderChart } from './lib/svg-chart';

const ROOT = join(__dirname, '..');
const DOCS = join(ROOT, 'docs');
const CHARTS = join(DOCS, 'charts');

/** In reading order, each with what it measures and why, in words. */
const SECTIONS: Array<{ name: string; heading: string; about: string }> = [
  {
    name: 'backends',
    heading: 'QEMU backends: libslirp, passt, usernet serve',
    about:
      'One guest (the bundled bzImage + initramfs under qemu-system-x86_64, TCG, -m 256, an e1000) on user-mode network backends: QEMU\'s own `-netdev user` (libslirp), passt over `-netdev stream`, and `usernet serve` — our slirp in a separate node process, as users run it — both with `mtu=9000` (the jumbo link the bundled guest gets by default, offered in its DHCP lease, which the guest applies) and with `mtu=1500` (Ethernet\'s MTU, libslirp\'s link exactly). The project\'s goal is at least 1.0x libslirp on every figure; the ratios below are what was measured, whatever they are.',
  },
  {
    name: 'serve-cpu',
    heading: 'usernet serve without a VM: CPU per MiB against passt',
    about:
      'A synthetic guest (Ethernet over QEMU\'s stream framing, a lean TCP) downloads from and uploads to loopback peers through `usernet serve` and, side by side, through passt over the same socket protocol. The backend process\'s CPU per MiB is the figure: under a real guest on a small machine that CPU competes with QEMU\'s vCPU thread.',
  },
  {
    name: 'serve-cpu-mss8960',
    heading: 'usernet serve without a VM, on the jumbo link its lease offers',
    about:
      'The same measurement with the synthetic guest announcing MSS 8960, the 9000-byte link MTU that the bundled guest\'s DHCP lease offers by default (passt takes the same MSS).',
  },
  {
    name: 'serve-connections',
    heading: 'usernet serve without a VM: CPU per short connection against passt',
    about:
      'The synthetic guest of the section above opens connection after connection to a loopback server, as `wget` of a tiny file does (SYN, a small request, a small answer and the server\'s FIN, our FIN), through `usernet serve` and, side by side, through passt. The backend process\'s CPU over the burst divided by the number of connections is the figure; the goal for `usernet serve` is <= 0.5 ms. A second run idles 20 ms between connections, as a guest under QEMU does (each wake-up after idle costs more).',
  },
  {
    name: 'serve-connections-gap20',
    heading: 'usernet serve without a VM: short connections 20 ms apart',
    about: 'The same with 20 ms of idle before each connection: the event loop sleeps between them, as under a real guest.',
  },
  {
    name: 'stream-echo',
    heading: 'One frame through usernet serve, hot and after idle',
    about:
      'Where the ping figure above goes: an ICMP echo request framed as QEMU frames it, sent over a unix socket to `usernet serve` and, side by side, to a bare Node.js process that writes every byte straight back — the floor of any stream peer written in Node. Requests are spaced by 1 ms (warm) and by 20 and 200 ms (as a pinging guest sends them: cold by then on this machine).',
  },
  {
    name: 'nic',
    heading: 'NICs under v86: our e1000, v86 virtio-net, v86 ne2k',
    about:
      'The bundled guest under the embedded engine (v86), with each network card in turn and the same slirp behind each. Interrupts per MB show the e1000\'s interrupt mitigation at work (the Linux driver also polls with NAPI).',
  },
  {
    name: 'embedded-ping',
    heading: 'Embedded engine: a gateway ping against the guest\'s own loopback ping',
    about:
      'Under v86 the emulated CPU sets the floor of any round trip: the guest\'s `ping 127.0.0.1` crosses only its own kernel. The same VM pings the gateway (10.0.2.2: our e1000, the net queue and slirp\'s echo reply) in alternating order, and a last run with timing listeners on the pipeline\'s stages splits a gateway echo into its parts. The goal: a gateway ping at most 1.25x the loopback ping.',
  },
  {
    name: 'tcp-inprocess',
    heading: 'TcpStack in process: bulk transfer',
    about:
      'A synthetic guest TCP pushes to and pulls from a loopback socket through TcpStack at MTU 1500 and 65520, beside a plain Node loopback socket moving the same bytes — the physical limit of this process and kernel — written in MSS-sized pieces (what one segment\'s worth costs a plain socket: the target is CPU per segment <= 1.5x that) and in 64 KiB pieces.',
  },
  {
    name: 'tcp-connections',
    heading: 'TcpStack in process: many connections',
    about: 'Memory per open connection and the cost of a segment with 10, 100 and 1000 connections carrying data: both should stay flat.',
  },
  {
    name: 'pipeline-overhead',
    heading: 'Pipeline tools: what a breakpoint costs (embedded engine)',
    about:
      'A guest download under v86 with nothing armed, with one and with five conditional breakpoints that never match, and with the pcap capture on. Each round runs every configuration in a shuffled order; costs are paired with the same round\'s "none", and "none again" (the same thing measured twice) shows how much of a difference is noise. The goal: a non-matching breakpoint costs at most 5%.',
  },
  {
    name: 'pipeline-overhead-qemu',
    heading: 'Pipeline tools: what a breakpoint costs (QEMU engine)',
    about:
      'The same download with the guest in QEMU (TCG) and our slirp in the measuring process: its CPU time is then the stack\'s and the probes\' alone, a steadier measure than under v86, whose emulation shares the process.',
  },
  {
    name: 'fuzz',
    heading: 'Fuzzing the slirp',
    about: 'Mutated frames (test/support/fuzz/frame-mutator.ts) into a whole Slirp with its real TCP layer; the run fails if anything escapes input(), the stack catches an internal error, a frame it sends is malformed, or a bound is broken.',
  },
];

function section(r: BenchResult, heading: string, about: string): string {
  const out: string[] = [`## ${heading}`, '', ...(about ? [about, ''] : []), 'Command (from the repository root):', '', '```sh', r.command, '```', ''];
  out.push(
    measuredLine(r),
    '',
  );
  for (const t of r.tables) out.push(t.caption, '', markdownTable(t), '');
  r.charts.forEach((c, i) => {
    const file = `${r.name}-${i + 1}.svg`;
    writeFileSync(join(CHARTS, file), renderChart(c));
    out.push(`![${c.title}](charts/${file})`, '');
  });
  // Reading of the figures, written by hand beside the results they describe.
  const findings = join(RESULTS_DIR, `${r.name}.findings.md`);
  if (existsSync(findings)) out.push('What the figures say:', '', readFileSync(findings, 'utf8').trim(), '');
  if (r.notes.length) {
    out.push('Notes:', '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}

function main(): void {
  mkdirSync(CHARTS, { recursive: true });
  const parts: string[] = [
    '# Benchmarks',
    '',
    'Speed is measured as ratios against a peer run side by side in the same command — never as timed assertions in tests. Each benchmark prints a markdown table and writes `bench/results/<name>.json`; this page is generated from those files by `node --import tsx bench/docs.ts` (charts included). How to run them: [bench/README.md](../bench/README.md).',
    '',
  ];
  for (const s of SECTIONS) {
    const file = join(RESULTS_DIR, `${s.name}.json`);
    if (!existsSync(file)) {
      parts.push(`## ${s.heading}`, '', `_No results yet: run the benchmark (bench/${s.name}.ts)._`, '');
      continue;
    }
    parts.push(section(JSON.parse(readFileSync(file, 'utf8')) as BenchResult, s.heading, s.about));
  }
  // Benchmarks added later appear too, under their own title.
  const known = new Set(SECTIONS.map((s) => `${s.name}.json`));
  for (const f of readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json') && !f.endsWith('-subset.json') && !known.has(f)).sort()) {
    const r = JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as BenchResult;
    parts.push(section(r, r.title, ''));
  }
  writeFileSync(join(DOCS, 'benchmarks.md'), parts.join('\n'));
  process.stdout.write(`wrote docs/benchmarks.md and ${CHARTS.replace(ROOT + '/', '')}/*.svg\n`);
}

main();

/** Says whether other work shared the machine, from the load average when the run started. */
function measuredLine(r: { date: string; machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; loadAverageAtStart: number[] } }): string {
  const m = r.machine;
  const busy = (m.loadAverageAtStart[0] ?? 0) >= 1;
  const where = busy ? `a shared, busy ${m.cpus}-core machine` : `a quiet ${m.cpus}-core machine`;
  const caveat = busy ? ' Other work ran at the same time: read ratios between peers measured side by side, not absolute figures.' : '';
  return `Measured ${r.date.slice(0, 10)} on ${where} (${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}; load average ${m.loadAverageAtStart.join(' / ')} at the start).${caveat}`;
}

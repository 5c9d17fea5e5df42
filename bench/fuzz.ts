/**
 * A long run of the slirp fuzz harness: mutated frames (test/support/fuzz/frame-mutator.ts)
 * into a whole Slirp with its real TCP layer, for N seconds. Reports frames/s
 * and every drop reason reached; exits non-zero if anything escapes input()
 * (a throw), if the stack caught an internal error, if a frame it sent is
 * malformed, or if a bound is broken. Replay a failure with its seed.
 *
 * Guest traffic goes to real sockets, so it runs in the private namespace:
 *   scripts/netns-run.sh node --import tsx bench/fuzz.ts [--seconds 60] [--seed N]
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { ProbeHub } from '../extension/pipeline/probe';
import { DEFAULT_SLIRP_CONFIG } from '../extension/slirp/config';
import { FrameMutator } from '../test/support/fuzz/frame-mutator';
import { malformedReason } from '../test/support/fuzz/well-formed';
import { Slirp } from '../extension/slirp/slirp';
import { containmentProblem } from '../test/support/containment';
import { checksum, eth, GUEST_IP, GUEST_MAC, HOST_IP, ipv4, pseudoSum, u16, u32 } from '../test/unit/slirp/helpers/frames';
import { ManualClock } from '../test/unit/slirp/helpers/manual-clock';
import { fuzzSeeds } from '../test/unit/slirp/helpers/fuzz-seeds';
import { commandLine, machineInfo, progress, publish, runBench } from './lib/report';
import { fmt } from './lib/stats';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string', default: String(0x5eed) } } });
const SECONDS = Number(values.seconds);
const SEED = Number(values.seed);
const MAX_SESSIONS = 32;
const REASSEMBLY = { maxDatagrams: 16, maxFragmentsPerDatagram: 16, maxBytes: 64 * 1024, timeoutMs: 30_000 };

function tcpSeg(dport: number, flags: number, seq: number, payload: number[] = [], options: number[] = []): Uint8Array {
  const hl = 20 + options.length;
  const b = [...u16(40000), ...u16(dport), ...u32(seq), ...u32(0), (hl / 4) << 4, flags, ...u16(65535), 0, 0, 0, 0, ...options, ...payload];
  const c = checksum(b, pseudoSum(GUEST_IP, HOST_IP, 6, b.length));
  b[16] = c >> 8;
  b[17] = c & 255;
  return eth(0x0800, ipv4({ dst: HOST_IP, protocol: 6, payload: b }));
}

/** The unit test's seeds, plus TCP that reaches a live loopback listener (so mutants get past the handshake). */
function seeds(echoPort: number): Uint8Array[] {
  return [
    ...fuzzSeeds(echoPort),
    tcpSeg(echoPort, 0x02, 1000, [], [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]),
    tcpSeg(echoPort, 0x18, 1001, Array.from({ length: 64 }, (_, i) => i)),
    tcpSeg(echoPort, 0x11, 1065),
    tcpSeg(echoPort, 0x04, 1001),
  ];
}

async function main(): Promise<void> {
  const problem = containmentProblem();
  if (problem) throw new Error(`refusing to fuzz outside a private network namespace: ${problem}. Run it through scripts/netns-run.sh.`);

  // Loopback peers for TCP and UDP mutants to reach: an echo server on both.
  const echo = net.createServer((s) => {
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as net.AddressInfo).port;

  const clock = new ManualClock();
  const out: Uint8Array[] = [];
  const logs: string[] = [];
  const slirp = new Slirp({
    config: { ...DEFAULT_SLIRP_CONFIG, dnsUpstream: '127.0.0.1:9', hostname: 'fuzz', dnsSearch: ['a.test'] },
    clock,
    probes: new ProbeHub(),
    guestMac: GUEST_MAC,
    resolvConfPath: '/nonexistent/resolv.conf',
    log: (m) => logs.push(m),
    output: (f) => out.push(f.slice()),
    maxSessions: MAX_SESSIONS,
    reassembly: REASSEMBLY,
  });
  await slirp.start();

  const corpus = seeds(echoPort);
  const m = new FrameMutator(SEED);
  const failures: string[] = [];
  let frames = 0;
  let emitted = 0;
  let lastReport = Date.now();
  const start = Date.now();
  progress(`fuzzing for ${SECONDS} s, seed ${SEED}`);
  while (Date.now() - start < SECONDS * 1000 && failures.length === 0) {
    for (let i = 0; i < 200; i++) {
      const frame = m.mutate(m.pick(corpus), corpus);
      try {
        slirp.input(frame);
      } catch (e) {
        failures.push(`input() threw on frame ${Buffer.from(frame).toString('hex')}: ${(e as Error).stack}`);
        break;
      }
      frames++;
      if (m.below(50) === 0) clock.advance(m.below(20_000));
      if (out.length) {
        for (const f of out) {
          const bad = malformedReason(f, 1500);
          if (bad) failures.push(`emitted a malformed frame (${bad}) after input ${Buffer.from(frame).toString('hex')}`);
        }
        emitted += out.length;
        out.length = 0;
        if (corpus.length < 400) corpus.push(frame);
      }
    }
    const summary = slirp.dropSummary();
    if (summary['internal-error']) failures.push(`the stack caught ${summary['internal-error']} internal error(s): ${logs.slice(-5).join(' | ')}`);
    try {
      assert.ok(slirp.nat.size <= MAX_SESSIONS, `NAT sessions ${slirp.nat.size} > ${MAX_SESSIONS}`);
      assert.ok(slirp.reassemblyState.datagrams <= REASSEMBLY.maxDatagrams, 'reassembly datagrams over bound');
      assert.ok(slirp.reassemblyState.bytes <= REASSEMBLY.maxBytes, 'reassembly bytes over bound');
      assert.ok(slirp.arpTable.size <= 16, 'ARP table over bound');
    } catch (e) {
      failures.push((e as Error).message);
    }
    // Socket callbacks run between batches, as they would between guest frames.
    await new Promise((r) => setImmediate(r));
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      progress(`${frames} frames, ${Object.keys(slirp.dropSummary()).length} drop reasons reached`);
    }
  }
  const seconds = (Date.now() - start) / 1000;
  const drops = slirp.dropSummary();
  await slirp.close();
  echo.close();

  const reasons = Object.entries(drops).sort((a, b) => b[1] - a[1]);
  publish({
    name: 'fuzz',
    title: 'Slirp fuzzing (mutated frames into the whole stack)',
    command: commandLine(__filename),
    date: new Date().toISOString(),
    machine: machineInfo(),
    params: { seconds: SECONDS, seed: SEED, maxSessions: MAX_SESSIONS, reassembly: REASSEMBLY },
    tables: [
      {
        caption: `Fuzzing for ${fmt(seconds)} s, seed ${SEED}`,
        headers: ['frames in', 'frames/s', 'frames out', 'corpus at end', 'drop reasons reached', 'escapes'],
        rows: [[String(frames), fmt(frames / seconds), String(emitted), String(corpus.length), String(reasons.length), String(failures.length)]],
      },
      { caption: 'Drop reasons reached (frames or segments dropped, by reason)', headers: ['reason', 'count'], rows: reasons.map(([r, n]) => [r, String(n)]) },
    ],
    charts: [],
    notes: failures.length ? failures.slice(0, 5) : ['Nothing escaped: no throw out of input(), no internal error caught, every frame sent was well formed, every bound held.'],
    raw: { frames, emitted, seconds, drops, failures },
  });
  if (failures.length) {
    process.stderr.write(`\nFAILED (${failures.length}): replay with --seed ${SEED}\n${failures.slice(0, 3).join('\n')}\n`);
    process.exit(1);
  }
}

// 1 is taken by "the fuzzer found a failure": 2 says it could not run.
runBench(main, 2);

/**
 * How long `usernet serve` takes to answer one frame, hot and after idle:
 * an ICMP echo request to the gateway (10.0.2.2), framed as QEMU's
 * `-netdev stream` frames it, sent over the unix socket QEMU would use, the
 * reply timed by the sender. The peer run side by side is a bare Node.js
 * process that writes every byte back unparsed (bench/lib/bare-stream-echo.ts):
 * the floor of any stream peer written in Node. The difference is what our
 * stack adds to a frame's round trip.
 *
 * Each round sends, to each peer in turn, bursts of echo requests spaced by
 * 1 ms (everything warm), 20 ms and 200 ms (a guest pinging once in a while:
 * caches, TLB and the CPU's wake-up state have gone cold in between).
 *
 *   scripts/netns-run.sh node --import tsx bench/stream-echo.ts [--rounds 3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { StreamFrameDecoder, encodeStreamFrame } from '../extension/machine/stream-framing';
import { ip4 } from '../extension/slirp/config';
import { internetChecksum } from '../extension/wire/checksum';
import { writeIpv4HeaderAt } from '../extension/wire/ipv4';
import { containmentProblem } from '../test/support/containment';
import { startBackend, type RunningBackend } from './lib/backends';
import { BENCH_DIR, commandLine, machineInfo, progress, publish, runBench } from './lib/report';
import { fmt, median, summarize, withTimeout } from './lib/stats';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const ROUNDS = Number(values.rounds);
/** Spacing between requests (ms) and how many requests a round sends at that spacing. */
const GAPS: ReadonlyArray<{ gapMs: number; count: number }> = [
  { gapMs: 1, count: 300 },
  { gapMs: 20, count: 100 },
  { gapMs: 200, count: 25 },
];
const ECHO_ID = 0x5eed;

/** An echo request 10.0.2.15 -> 10.0.2.2 with 56 bytes of data, as busybox ping sends it. */
function echoRequest(seq: number): Buffer {
  const f = new Uint8Array(14 + 20 + 8 + 56);
  f.set([0x52, 0x55, 0x0a, 0, 2, 2, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x00], 0);
  writeIpv4HeaderAt(f, 14, ip4(10, 0, 2, 15), ip4(10, 0, 2, 2), 1, 8 + 56, seq);
  const v = new DataView(f.buffer);
  const icmp = f.subarray(34);
  icmp[0] = 8;
  v.setUint16(38, ECHO_ID);
  v.setUint16(40, seq);
  for (let i = 8; i < icmp.length; i++) icmp[i] = i;
  v.setUint16(36, internetChecksum(icmp));
  return encodeStreamFrame(f);
}

/** The echo id and sequence of an IPv4 ICMP frame, or -1 for anything else. */
function echoSequence(frame: Uint8Array): number {
  if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 1) return -1;
  const ihl = (frame[14]! & 15) * 4;
  const o = 14 + ihl;
  if (((frame[o + 4]! << 8) | frame[o + 5]!) !== ECHO_ID) return -1;
  return (frame[o + 6]! << 8) | frame[o + 7]!;
}

class EchoClient {
  private waiting: { seq: number; resolve: () => void } | undefined;
  private seq = 0;
  private constructor(private readonly socket: net.Socket) {
    const decoder = new StreamFrameDecoder((frame) => {
      if (this.waiting && echoSequence(frame) === this.waiting.seq) this.waiting.resolve();
    });
    socket.on('data', (chunk) => decoder.push(chunk));
  }

  static connect(path: string): Promise<EchoClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path, () => {
        s.off('error', reject);
        s.setNoDelay?.(true);
        resolve(new EchoClient(s));
      });
      s.once('error', reject);
    });
  }

  /** One round trip, in microseconds. */
  async ping(): Promise<number> {
    const seq = (this.seq = (this.seq + 1) & 0xffff);
    const frame = echoRequest(seq);
    const replied = new Promise<void>((resolve) => (this.waiting = { seq, resolve }));
    const t0 = process.hrtime.bigint();
    this.socket.write(frame);
    await withTimeout(replied, 5000, `the reply to echo request ${seq}`);
    this.waiting = undefined;
    return Number(process.hrtime.bigint() - t0) / 1000;
  }

  close(): void {
    this.socket.destroy();
  }
}

interface Peer {
  name: string;
  client: EchoClient;
  stop(): Promise<void>;
}

async function startBareEcho(): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-bench-echo-'));
  const sock = join(dir, 'echo.sock');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, 'lib', 'bare-stream-echo.ts'), sock], { stdio: 'inherit', cwd: join(BENCH_DIR, '..') });
  for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  const client = await EchoClient.connect(sock);
  return {
    name: 'bare Node.js echo',
    client,
    stop: async () => {
      client.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startUsernet(): Promise<Peer> {
  const backend: RunningBackend = await startBackend('usernet', 0);
  const client = await EchoClient.connect(backend.socketPath!);
  return {
    name: 'usernet serve',
    client,
    stop: async () => {
      client.close();
      await backend.stop();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function burst(peer: Peer, gapMs: number, count: number): Promise<number[]> {
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    await sleep(gapMs);
    rtts.push(await peer.client.ping());
  }
  return rtts;
}

async function main(): Promise<void> {
  const problem = containmentProblem();
  if (problem) throw new Error(problem);
  const started = new Date().toISOString();
  const peers = [await startBareEcho(), await startUsernet()];
  // samples[peer][gap] = every round trip measured there, all rounds together.
  const samples = peers.map(() => GAPS.map(() => [] as number[]));
  try {
    for (const p of peers) await burst(p, 0, 500); // the JIT has seen every path before timing
    for (let r = 0; r < ROUNDS; r++) {
      for (let g = 0; g < GAPS.length; g++) {
        // Alternate which peer goes first, so neither always follows the other's idle.
        const order = r % 2 ? [...peers.keys()].reverse() : [...peers.keys()];
        for (const i of order) {
          const rtts = await burst(peers[i]!, GAPS[g]!.gapMs, GAPS[g]!.count);
          samples[i]![g]!.push(...rtts);
          progress(`round ${r + 1} ${peers[i]!.name}, ${GAPS[g]!.gapMs} ms apart: median ${fmt(median(rtts))} us`);
        }
      }
    }
  } finally {
    for (const p of peers) await p.stop();
  }

  const rows = GAPS.map(({ gapMs }, g) => {
    const bare = summarize(samples[0]![g]!)!;
    const ours = summarize(samples[1]![g]!)!;
    return [`${gapMs} ms`, fmt(bare.median), fmt(ours.median), fmt(ours.median - bare.median), `${(ours.median / bare.median).toFixed(2)}x`];
  });
  publish({
    name: 'stream-echo',
    title: 'One frame through usernet serve vs a bare Node.js stream echo, hot and after idle',
    command: commandLine(__filename),
    date: started,
    machine: machineInfo(),
    params: { rounds: ROUNDS, gaps: GAPS, frame: 'ICMP echo request, 98 bytes, to 10.0.2.2' },
    tables: [
      {
        caption: `Round-trip time of one framed ICMP echo request over a unix socket, median of ${ROUNDS} rounds' samples (microseconds).`,
        headers: ['requests spaced by', 'bare Node.js echo (us)', 'usernet serve (us)', 'usernet minus bare (us)', 'usernet / bare'],
        rows,
      },
    ],
    charts: [
      {
        title: 'echo round trip after idle',
        unit: 'us',
        higherIsBetter: false,
        bars: peers.flatMap((p, i) =>
          GAPS.map(({ gapMs }, g) => {
            const s = summarize(samples[i]![g]!)!;
            return { label: `${p.name}, ${gapMs} ms apart`, value: s.median, min: s.min, max: s.max };
          }),
        ),
      },
    ],
    notes: [
      'Both peers are Node.js processes woken by the same socket write; the bare echo parses nothing, so its time is the process hop alone.',
      'The sender is this benchmark process, idle between requests like the peers.',
    ],
    raw: Object.fromEntries(peers.map((p, i) => [p.name, Object.fromEntries(GAPS.map(({ gapMs }, g) => [`${gapMs}ms`, samples[i]![g]!]))])),
  });
}

runBench(main);

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameNumber, numberedFrame, StageHarness } from './harness';
import { ipv4Frame, tcp, TCP } from '../frames';
import { foreignConditionStage, NetworkConditions } from '../../../../extension/pipeline/netem';
import { ProbeHub } from '../../../../extension/pipeline/probe';
import { ManualClock } from '../../slirp/tcp/support/manual-clock';

const N = 10_000;

/** Sends N numbered frames at `stage`, `gapMs` apart, then lets every hold expire. */
function run(rule: string | string[], opts: { gapMs?: number; seed?: number; bytes?: number; stage?: 'ip_input' } = {}): StageHarness {
  const h = new StageHarness(opts.seed);
  for (const r of [rule].flat()) h.conditions.add(r);
  for (let i = 0; i < N; i++) {
    h.send(opts.stage ?? 'ip_input', numberedFrame(i, opts.bytes));
    if (opts.gapMs) h.clock.advance(opts.gapMs);
  }
  h.clock.advance(120_000);
  return h;
}

function within(value: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(value - expected) <= tolerance, `${what}: ${value}, expected ${expected} ± ${tolerance}`);
}

describe('network conditions over 10,000 packets', () => {
  it('loss 5% loses 5% (binomial sd 22: bound 5 sd) and says why', () => {
    const h = run('ip_input: loss 5%');
    within(N - h.delivered.length, 500, 110, 'lost');
    const [status] = h.conditions.list();
    assert.equal(status!.counters.matched, N);
    assert.equal(status!.counters.dropped, N - h.delivered.length);
    assert.equal(h.drops.length, status!.counters.dropped);
    assert.ok(h.drops.every((r) => r === 'netem-loss'));
    assert.equal(h.hub.drops.count('netem-loss', 'ip_input'), h.drops.length, 'counted at the rule\'s stage');
  });

  it('correlated loss keeps its rate and comes in bursts', () => {
    const bursts = (rule: string): { lost: number; runs: number } => {
      const h = run(rule);
      const got = new Set(h.delivered.map((d) => frameNumber(d.frame)));
      let runs = 0;
      for (let i = 0; i < N; i++) if (!got.has(i) && got.has(i - 1)) runs++;
      return { lost: N - got.size, runs };
    };
    const plain = bursts('ip_input: loss 20%');
    const correlated = bursts('ip_input: loss 20% 75%');
    within(plain.lost, 2000, 200, 'uncorrelated lost');
    within(correlated.lost, 2000, 450, 'correlated lost');
    // Mean burst length: 1/(1-p) = 1.25 alone; far longer when each draw repeats the last 75% of the time.
    assert.ok(plain.lost / plain.runs < 1.4, `plain bursts ${plain.lost / plain.runs}`);
    assert.ok(correlated.lost / correlated.runs > 3, `correlated bursts ${correlated.lost / correlated.runs}`);
  });

  it('delay 100ms ±10ms holds each packet 90-110 ms, mean 100, jitter uniform', () => {
    const sentAt = new Map<number, number>();
    const h = new StageHarness();
    h.conditions.add('ip_input: delay 100ms ±10ms limit 100000');
    for (let i = 0; i < N; i++) {
      sentAt.set(i, h.clock.now());
      h.send('ip_input', numberedFrame(i));
      h.clock.advance(1);
    }
    assert.ok(h.delivered.length < N, 'nothing is delivered before its time');
    h.clock.advance(1000);
    assert.equal(h.delivered.length, N);
    const holds = h.delivered.map((d) => d.at - sentAt.get(frameNumber(d.frame))!);
    const mean = holds.reduce((a, b) => a + b, 0) / N;
    const sd = Math.sqrt(holds.reduce((a, b) => a + (b - mean) ** 2, 0) / N);
    assert.ok(Math.min(...holds) >= 90 && Math.max(...holds) <= 110, `holds ${Math.min(...holds)}..${Math.max(...holds)}`);
    within(mean, 100, 0.5, 'mean delay');
    within(sd, 20 / Math.sqrt(12), 0.3, 'jitter sd (uniform over 20 ms)');
    assert.equal(h.conditions.list()[0]!.counters.delayed, N);
  });

  it('duplicate 10% adds 10% copies', () => {
    const h = run('ip_input: duplicate 10%');
    within(h.delivered.length - N, 1000, 150, 'copies');
    assert.equal(h.conditions.list()[0]!.counters.duplicated, h.delivered.length - N);
  });

  it('reorder 25% sends a quarter ahead of the delayed ones', () => {
    const h = run('ip_input: delay 10ms reorder 25%', { gapMs: 1 });
    const order = h.delivered.map((d) => frameNumber(d.frame));
    assert.equal(order.length, N);
    const sentAhead = h.conditions.list()[0]!.counters.reordered;
    within(sentAhead, 2500, 250, 'sent ahead');
    // A packet sent ahead arrives before packets sent earlier than it.
    let ahead = 0;
    for (let i = 1; i < order.length; i++) if (order[i]! < order[i - 1]!) ahead++;
    assert.ok(ahead > 1500, `packets delivered after a later one: ${ahead}`);
  });

  it('reorder with gap 5 lets at most one packet in 5 go ahead', () => {
    const h = run('ip_input: delay 10ms reorder 100% gap 5', { gapMs: 1 });
    within(h.conditions.list()[0]!.counters.reordered, N / 5, 1, 'sent ahead');
  });

  it('rate 1mbit holds throughput to 1 Mbit/s within 5%, queue bounded and overflow counted', () => {
    // 1000-byte datagrams every 4 ms offer 2 Mbit/s: half must wait, and the queue fills.
    const h = run('ip_input: rate 1mbit limit 200', { gapMs: 4, bytes: 1000 - 42 });
    const first = h.delivered[0]!.at;
    const last = h.delivered[h.delivered.length - 1]!.at;
    const bytes = h.delivered.slice(1).reduce((a, d) => a + d.frame.length, 0);
    const bits = (bytes * 8) / ((last - first) / 1000);
    within(bits, 1e6, 5e4, 'bit/s');
    const c = h.conditions.list()[0]!.counters;
    assert.ok(c.overflowed > 4000, `overflowed ${c.overflowed}`);
    assert.equal(c.dropped, c.overflowed);
    assert.equal(h.delivered.length + c.overflowed, N);
    assert.ok(h.drops.every((r) => r === 'netem-limit'));
  });

  it('corrupt 10% flips exactly one bit, past the IP header, in a tenth of the packets', () => {
    const h = new StageHarness();
    h.conditions.add('ip_input: corrupt 10%');
    const originals = new Map<Uint8Array, Uint8Array>();
    for (let i = 0; i < N; i++) {
      const frame = numberedFrame(i);
      originals.set(frame, frame.slice());
      h.send('ip_input', frame);
    }
    let flipped = 0;
    for (const d of h.delivered) {
      const clean = originals.get(d.frame)!;
      let bits = 0;
      for (let i = 0; i < clean.length; i++) {
        let x = clean[i]! ^ d.frame[i]!;
        if (x && i < 34) assert.fail(`byte ${i} of the headers changed`);
        for (; x; x &= x - 1) bits++;
      }
      assert.ok(bits <= 1);
      flipped += bits;
    }
    within(flipped, 1000, 150, 'corrupted');
    assert.equal(h.conditions.list()[0]!.counters.corrupted, flipped);
  });

  it('mtu drops datagrams larger than it and passes the rest', () => {
    const h = new StageHarness();
    h.conditions.add('ip_input: mtu 576');
    h.send('ip_input', numberedFrame(1, 576 - 28));
    h.send('ip_input', numberedFrame(2, 577 - 28));
    assert.deepEqual(h.delivered.map((d) => frameNumber(d.frame)), [1]);
    assert.deepEqual(h.drops, ['netem-mtu']);
  });

  it('the same seed gives the same decisions; another seed others', () => {
    const kept = (seed: number): string => run('ip_input: loss 30% duplicate 5% delay 5ms ±5ms', { seed }).delivered.map((d) => frameNumber(d.frame)).join(',');
    assert.equal(kept(7), kept(7));
    assert.notEqual(kept(7), kept(8));
  });

  it('composes: two rules on a stage apply one after the other', () => {
    const h = run(['ip_input: loss 50%', 'ip_input: loss 50%']);
    within(N - h.delivered.length, 7500, 220, 'lost by either');
    const [a, b] = h.conditions.list();
    assert.equal(a!.counters.matched, N);
    assert.equal(b!.counters.matched, N - a!.counters.dropped);
  });

  it('composes across stages, each holding on its own queue', () => {
    const h = new StageHarness();
    h.conditions.add('ip_input: delay 50ms');
    h.conditions.add('udp_input: delay 20ms');
    const hub = h.hub;
    const delivered: number[] = [];
    const udpInput = (frame: Uint8Array): void => {
      const p = hub.probes.udp_input;
      if (p.armed && p.fire({ stage: 'udp_input', frame }, () => udpInput(frame))) return;
      delivered.push(h.clock.now());
    };
    const ipInput = (frame: Uint8Array): void => {
      const p = hub.probes.ip_input;
      if (p.armed && p.fire({ stage: 'ip_input', frame }, () => ipInput(frame))) return;
      udpInput(frame);
    };
    ipInput(numberedFrame(1));
    h.clock.advance(69);
    assert.deepEqual(delivered, []);
    h.clock.advance(1);
    assert.deepEqual(delivered, [70]);
  });

  it('applies only to what the filter selects', () => {
    const h = new StageHarness();
    h.conditions.add('ip_input if udp: loss 100%');
    h.send('ip_input', numberedFrame(1));
    const segment = ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 6 }, tcp({ sport: 1, dport: 2, flags: TCP.SYN }));
    h.send('ip_input', segment);
    assert.deepEqual(h.delivered.map((d) => d.frame), [segment]);
    assert.equal(h.conditions.list()[0]!.counters.matched, 1);
  });

  it('bounds what a rule holds: past its limit packets are dropped and counted', () => {
    const h = new StageHarness();
    h.conditions.add('ip_input: delay 1s limit 100');
    for (let i = 0; i < 500; i++) h.send('ip_input', numberedFrame(i));
    const c = h.conditions.list()[0]!.counters;
    assert.equal(c.held, 100);
    assert.equal(c.overflowed, 400);
    h.clock.advance(1000);
    assert.deepEqual(h.delivered.map((d) => frameNumber(d.frame)), [...Array(100).keys()]);
    assert.equal(h.conditions.list()[0]!.counters.held, 0);
  });

  it('removing a rule lets what it held go on, and disarms the stage', () => {
    const h = new StageHarness();
    const { id } = h.conditions.add('ip_input: delay 10s');
    h.send('ip_input', numberedFrame(1));
    assert.equal(h.delivered.length, 0);
    assert.ok(h.conditions.remove(id));
    assert.equal(h.delivered.length, 1);
    assert.equal(h.hub.probes.ip_input.armed, false);
    assert.equal(h.conditions.clear(), 0);
  });

  it('a packet stopped at a breakpoint meets the stage\'s conditions when resumed', () => {
    const h = new StageHarness();
    h.conditions.add('ip_input: delay 30ms');
    let stops = 0;
    const unlisten = h.hub.probes.ip_input.listen(() => (stops++ === 0 ? 'hold' : undefined));
    h.send('ip_input', numberedFrame(1));
    assert.equal(h.hub.heldPackets.length, 1);
    h.hub.releaseAll();
    assert.equal(h.delivered.length, 0, 'delayed after the breakpoint');
    h.clock.advance(30);
    assert.equal(h.delivered.length, 1);
    assert.equal(stops, 1, 'the delayed packet does not stop again');
    unlisten();
    assert.equal(h.hub.probes.ip_input.armed, true, 'conditions keep the probe armed');
  });
});

describe('network conditions under the QEMU engine', () => {
  it('a rule on a stage that is QEMU\'s there is warned about, naming ours; slirp stages and the embedded engine are not', () => {
    const warnings: string[] = [];
    const conditions = (engine: 'qemu' | 'embedded') => new NetworkConditions(new ProbeHub(), new ManualClock(), { seed: 1, engine, warn: (m) => warnings.push(m) });
    const qemu = conditions('qemu');
    qemu.add('qemu_send_packet: loss 5%');
    qemu.add('qemu_receive_packet if icmp: delay 10ms');
    qemu.add('net_slirp_receive: loss 5%');
    qemu.add('icmp_reflect: delay 10ms');
    conditions('embedded').add('qemu_send_packet: loss 5%');
    assert.deepEqual(warnings, [
      "#1 qemu_send_packet: loss 5%: qemu_send_packet is QEMU's under the QEMU engine, not ours: the rule on it never matches; put it on net_slirp_receive",
      "#2 qemu_receive_packet if icmp: delay 10ms: qemu_receive_packet is QEMU's under the QEMU engine, not ours: the rule on it never matches; put it on net_slirp_send_packet",
    ]);
    assert.equal(foreignConditionStage('ip_input', 'qemu'), undefined);
    assert.equal(qemu.size, 4, 'the rule is still added (a profile may move to the embedded engine)');
  });
});

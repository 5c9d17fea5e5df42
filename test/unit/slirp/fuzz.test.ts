import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameMutator, fixChecksums } from '../../support/fuzz/frame-mutator';
import { malformedReason } from '../../support/fuzz/well-formed';
import { Ipv4View } from '../../../extension/wire/ipv4';
import { internetChecksum } from '../../../extension/wire/checksum';
import { parseIpv6, solicitedNodeMulticast } from '../../../extension/wire/ipv6-address';
import { DNS6, frame6, GUEST6, GUEST6_LL, HOST6, icmp6, udp6 } from './helpers/frames6';
import { eth, HOST_IP, ipv4 } from './helpers/frames';
import { fuzzSeeds } from './helpers/fuzz-seeds';
import { makeGuest } from './helpers/harness';

const FUZZ_MS = 3000;
/**
 * Frames fed whatever the clock says: a loaded machine (the cores are shared with
 * guest tests) may get through few frames in FUZZ_MS, and that is no failure of the
 * stack; the loop runs on past the time budget until this many have gone in.
 */
const MIN_FRAMES = 400;
const SEED = Number(process.env.USERNET_FUZZ_SEED ?? 0x5eed);

/** Synthesised seeds covering each protocol the stack parses, and a bare TCP SYN. */
function seeds(): Uint8Array[] {
  return [
    ...fuzzSeeds(),
    eth(0x0800, ipv4({ dst: HOST_IP, protocol: 6, payload: new Array(20).fill(0).map((_, i) => (i === 12 ? 0x50 : i === 13 ? 2 : 0)) })),
    ...ipv6Seeds(),
  ];
}

/** IPv6: a router and a neighbour solicitation, an echo, a fragment, DHCPv6 and DNS. */
function ipv6Seeds(): Uint8Array[] {
  const allRouters = parseIpv6('ff02::2')!;
  const nsDst = solicitedNodeMulticast(HOST6);
  const dhcp = parseIpv6('ff02::1:2')!;
  return [
    frame6({ src: GUEST6_LL, dst: allRouters, nextHeader: 58, hopLimit: 255, payload: icmp6(GUEST6_LL, allRouters, 133, 0, [0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1]) }),
    frame6({ dst: nsDst, nextHeader: 58, hopLimit: 255, payload: icmp6(GUEST6, nsDst, 135, 0, [0, 0, 0, 0, ...HOST6, 1, 1, 2, 0, 0, 0, 0, 1]) }),
    frame6({ dst: DNS6, nextHeader: 58, payload: icmp6(GUEST6, DNS6, 128, 0, [0, 1, 0, 1, 9, 9, 9, 9]) }),
    frame6({ dst: HOST6, nextHeader: 44, payload: [58, 0, 0, 1, 0, 0, 0, 9, ...icmp6(GUEST6, HOST6, 128, 0, new Array(20).fill(7))] }),
    frame6({ src: GUEST6_LL, dst: dhcp, nextHeader: 17, payload: udp6(GUEST6_LL, dhcp, 546, 547, [11, 0, 0, 1, 0, 6, 0, 2, 0, 23]) }),
    frame6({ dst: HOST6, nextHeader: 6, payload: new Array(20).fill(0).map((_, i) => (i === 12 ? 0x50 : i === 13 ? 2 : 0)) }),
  ];
}

/** Every frame the stack sends must be well formed, whatever it was fed. */
function assertWellFormed(f: Uint8Array): void {
  assert.equal(malformedReason(f, 1500), null);
}

test('fixChecksums makes a mutated seed pass the checks again', () => {
  const f = seeds()[2]!.slice();
  f[40] ^= 0xff;
  f[22] = 9;
  fixChecksums(f);
  const ip = Ipv4View.check(f.subarray(14));
  assert.ok(typeof ip !== 'string');
  assert.equal(internetChecksum(ip.payload), 0);
});

test('the mutator is deterministic for a seed', () => {
  const a = new FrameMutator(42);
  const b = new FrameMutator(42);
  const s = seeds();
  for (let i = 0; i < 200; i++) assert.deepEqual(a.mutate(s[i % s.length]!, s), b.mutate(s[i % s.length]!, s));
});

test(`fuzz: ${FUZZ_MS} ms of mutated frames, nothing escapes, state stays bounded (seed ${SEED})`, async () => {
  const g = makeGuest(
    { disableHostLoopback: true, dnsUpstream: '127.0.0.1:9', hostname: 'fuzz', dnsSearch: ['a.test'] },
    { maxSessions: 32, reassembly: { maxDatagrams: 16, maxFragmentsPerDatagram: 16, maxBytes: 64 * 1024, timeoutMs: 30_000 } },
  );
  const corpus = seeds();
  const m = new FrameMutator(SEED);
  const start = Date.now();
  let frames = 0;
  let emitted = 0;
  try {
    while (Date.now() - start < FUZZ_MS || frames < MIN_FRAMES) {
      for (let i = 0; i < 200; i++) {
        const base = m.pick(corpus);
        const frame = m.mutate(base, corpus);
        g.slirp.input(frame);
        frames++;
        if (m.below(50) === 0) g.clock.advance(m.below(20_000));
        // Interesting mutants (ones that drew a reply) join the corpus, within a bound.
        if (g.out.length > 0) {
          for (const f of g.out) assertWellFormed(f);
          emitted += g.out.length;
          g.out.length = 0;
          if (corpus.length < 200) corpus.push(frame);
        }
      }
      assert.equal(g.slirp.drops['internal-error'], undefined, `an exception inside the stack: ${g.logs.join('\n')}`);
      assert.ok(g.slirp.nat.size <= 32);
      assert.ok(g.slirp.reassemblyState.datagrams <= 16);
      assert.ok(g.slirp.reassemblyState.bytes <= 64 * 1024);
      assert.ok(g.slirp.arpTable.size <= 16);
      // Let socket callbacks run, as they would between guest frames.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    await g.slirp.close();
  }
  assert.ok(frames >= MIN_FRAMES, `only ${frames} frames`);
  assert.ok(emitted > 0, 'some mutants still reached a reply');
  assert.ok(Object.keys(g.slirp.drops).length > 15, `mutants reached many checks: ${Object.keys(g.slirp.drops).join(', ')}`);
});

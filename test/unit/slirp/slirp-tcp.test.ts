import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ProbeHub } from '../../../extension/pipeline/probe';
import { DEFAULT_SLIRP_CONFIG } from '../../../extension/slirp/config';
import { Slirp } from '../../../extension/slirp/slirp';
import { checksum, eth, GUEST_IP, GUEST_MAC, HOST_IP, ipv4, pseudoSum, u16, u32 } from './helpers/frames';
import { ipOf } from './helpers/harness';
import { ManualClock } from './helpers/manual-clock';

function syn(dport: number): Uint8Array {
  const seg = [...u16(45000), ...u16(dport), ...u32(1000), ...u32(0), 0x60, 0x02, ...u16(64240), 0, 0, 0, 0, 2, 4, 5, 180];
  const c = checksum(seg, pseudoSum(GUEST_IP, HOST_IP, 6, seg.length));
  seg[16] = c >> 8;
  seg[17] = c & 255;
  return eth(0x0800, ipv4({ dst: HOST_IP, protocol: 6, payload: seg }));
}

test('with the real TCP layer, a SYN to 10.0.2.2 reaches a 127.0.0.1 listener and a SYN-ACK comes back', async () => {
  const server = net.createServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const out: Uint8Array[] = [];
  const slirp = new Slirp({ config: DEFAULT_SLIRP_CONFIG, clock: new ManualClock(), probes: new ProbeHub(), guestMac: GUEST_MAC, output: (f) => out.push(f.slice()), resolvConfPath: '/nonexistent' });
  try {
    const accepted = new Promise<void>((r) => server.once('connection', () => r()));
    slirp.input(syn(port));
    await accepted;
    const deadline = Date.now() + 2000;
    while (!out.some((f) => f[23] === 6) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const synAck = out.find((f) => f[23] === 6);
    assert.ok(synAck, 'a TCP segment for the guest');
    const ip = ipOf(synAck);
    assert.equal(ip.source, HOST_IP);
    assert.equal(ip.destination, GUEST_IP);
    const seg = ip.payload;
    assert.equal(seg[13]! & 0x12, 0x12, 'SYN and ACK');
    assert.equal(checksum(seg, pseudoSum(ip.source, ip.destination, 6, seg.length)), 0, 'TCP checksum');
    assert.equal(slirp.nat.list().filter((s) => s.protocol === 'tcp').length, 1);
    assert.match(slirp.infoUsernet(), /TCP\[[A-Z_]+\]/);
    // A segment with a bad checksum is the TCP layer's drop, reported with the core's.
    const bad = syn(port);
    bad[bad.length - 1] ^= 1;
    slirp.input(bad);
    assert.ok(Object.keys(slirp.dropSummary()).some((k) => k.startsWith('tcp-')), JSON.stringify(slirp.dropSummary()));
  } finally {
    await slirp.close();
    server.close();
  }
});

test('tcp hostfwd rules go to the TCP layer and show in info usernet', async () => {
  const slirp = new Slirp({ config: DEFAULT_SLIRP_CONFIG, clock: new ManualClock(), probes: new ProbeHub(), output: () => {}, resolvConfPath: '/nonexistent' });
  try {
    await slirp.addHostForward('tcp:127.0.0.1:0-:22');
    assert.match(slirp.infoUsernet(), /TCP\[HOST_FORWARD\]/);
    assert.throws(() => slirp.removeHostForward('sctp::1'), /bad protocol/);
  } finally {
    await slirp.close();
  }
});

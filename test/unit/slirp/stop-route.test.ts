/**
 * The call stack of a stop in the real stack: the route slirp took for that
 * packet (pipeline/route.ts), read from what ran, whatever the network's
 * addresses. What the stack sends on its own after relaying a host's reply (a
 * TFTP retransmission here) follows no socket read; a frame that waited for
 * the guest's ARP reply, and the tail of a host read sent at the end of the
 * turn, keep the route that made them.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BreakpointManager, type StopEvent } from '../../../extension/pipeline/breakpoints';
import type { StageName } from '../../../extension/pipeline/stages';
import { hostPingSockets } from '../../../extension/slirp/ping-socket';
import { ip4, type SlirpConfig } from '../../../extension/slirp/config';
import { parseNetdevUser } from '../../../extension/slirp/netdev-options';
import { TFTP_RETRANSMIT_MS } from '../../../extension/slirp/tftp';
import { pingNamespaceSkip, PING_TARGET4, preparePingNamespace } from '../../support/ping-namespace';
import { arp, dnsQuery, eth, GATEWAY_MAC, GUEST_IP, GUEST_MAC, guestUdp, HOST_IP, icmpEcho, ipv4, u16 } from './helpers/frames';
import { frame6, GUEST6, HOST6, udp6 } from './helpers/frames6';
import { isUdpTo, makeGuest, udpOf, type Guest } from './helpers/harness';
import { Harness } from './tcp/support/harness';
import { HostServer } from './tcp/support/host-server';

const pingSkip = pingNamespaceSkip();
if (!pingSkip) preparePingNamespace();

const SLIRP_OUT: StageName[] = ['ip_output', 'if_output', 'net_slirp_send_packet'];

/** Stops of breakpoints on `hub`'s stages, collected. */
function breakpoints(g: { probes: Guest['probes'] }): { manager: BreakpointManager; stops: StopEvent[] } {
  const manager = new BreakpointManager(g.probes);
  const stops: StopEvent[] = [];
  manager.onStop = (e) => stops.push(e);
  return { manager, stops };
}

async function udpServer(type: 'udp4' | 'udp6', address: string, onMessage: (s: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo) => void): Promise<dgram.Socket> {
  const socket = dgram.createSocket(type);
  socket.on('message', (m, r) => onMessage(socket, m, r));
  await new Promise<void>((r) => socket.bind(0, address, r));
  return socket;
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('with net=10.9.0.0/24 a stop on a DNS query to 10.9.0.3 shows dns_input, its answer sorecvfrom; a query to 10.0.2.3 is plain UDP there', async () => {
  const upstream = await udpServer('udp4', '127.0.0.1', (s, m, r) => {
    const answer = Buffer.from(m);
    answer[2] |= 0x80;
    s.send(answer, r.port, r.address);
  });
  const config: SlirpConfig = { ...parseNetdevUser('net=10.9.0.0/24'), dnsUpstream: `127.0.0.1:${upstream.address().port}` };
  const guest = ip4(10, 9, 0, 15);
  const g = makeGuest(config);
  const { manager, stops } = breakpoints(g);
  try {
    assert.equal(config.dns, ip4(10, 9, 0, 3));
    manager.set([{ stage: 'sosendto' }, { stage: 'udp_output' }]);
    g.slirp.input(guestUdp(ip4(10, 9, 0, 3), 33333, 53, dnsQuery('example.test', 0x5151), guest));
    assert.equal(stops.length, 1);
    assert.deepEqual(stops[0]!.stageChain, ['net_slirp_receive', 'slirp_input', 'ip_input', 'udp_input', 'dns_input', 'sosendto']);
    manager.continue();
    await until(() => stops.length === 2, 'the answer');
    assert.deepEqual(stops[1]!.stageChain, ['sorecvfrom', 'udp_output']);
    manager.continue();
    const answer = udpOf(await g.waitFor(isUdpTo(33333)));
    assert.equal(answer.sourcePort, 53);
    // Held at sosendto and never released: nothing leaves for 10.0.2.3.
    g.slirp.input(guestUdp(ip4(10, 0, 2, 3), 33334, 53, dnsQuery('example.test', 0x5152), guest));
    assert.equal(stops.length, 3);
    assert.deepEqual(stops[2]!.stageChain, ['net_slirp_receive', 'slirp_input', 'ip_input', 'udp_input', 'sosendto']);
  } finally {
    manager.dispose();
    await g.slirp.close();
    upstream.close();
  }
});

/**
 * Starts a TFTP transfer, lets `relay` bring a host's reply to the guest, then
 * lets the first DATA block's retransmission timer fire: the stop at its
 * udp_output shows the route of that retransmission.
 */
async function retransmissionAfter(g: Guest, relay: () => Promise<void>): Promise<readonly StageName[]> {
  const { manager, stops } = breakpoints(g);
  try {
    g.slirp.input(guestUdp(HOST_IP, 2000, 69, [...u16(1), ...Buffer.from('file\0octet\0')]));
    await g.waitFor(isUdpTo(2000));
    await relay();
    manager.set([{ stage: 'udp_output' }]);
    g.clock.advance(TFTP_RETRANSMIT_MS);
    assert.equal(stops.length, 1, 'the DATA block is sent again');
    return stops[0]!.stageChain;
  } finally {
    manager.dispose();
  }
}

function tftpRoot(): { root: string; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'usernet-route-'));
  writeFileSync(join(root, 'file'), Buffer.alloc(600, 1));
  return { root, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('what the stack sends on its own right after relaying a UDP reply follows no socket read (IPv4 and IPv6)', async () => {
  const echo4 = await udpServer('udp4', '127.0.0.1', (s, m, r) => s.send(m, r.port, r.address));
  const echo6 = await udpServer('udp6', '::1', (s, m, r) => s.send(m, r.port, r.address));
  const fx = tftpRoot();
  const g = makeGuest({ tftpRoot: fx.root });
  try {
    const v4 = await retransmissionAfter(g, async () => {
      g.slirp.input(guestUdp(HOST_IP, 40000, echo4.address().port, [1, 2, 3]));
      await g.waitFor(isUdpTo(40000));
    });
    assert.deepEqual(v4, ['udp_output']);
    const v6 = await retransmissionAfter(g, async () => {
      g.slirp.input(frame6({ dst: HOST6, nextHeader: 17, payload: udp6(GUEST6, HOST6, 40001, echo6.address().port, Buffer.from('v6')) }));
      await g.waitFor((f) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 17 && ((f[56]! << 8) | f[57]!) === 40001);
    });
    assert.deepEqual(v6, ['udp_output']);
  } finally {
    await g.slirp.close();
    echo4.close();
    echo6.close();
    fx.done();
  }
});

test('what the stack sends on its own right after relaying an echo reply follows no socket read', { skip: pingSkip }, async () => {
  const fx = tftpRoot();
  const g = makeGuest({ tftpRoot: fx.root }, { pingSockets: hostPingSockets });
  try {
    const [a, b, c, d] = PING_TARGET4.split('.').map(Number) as [number, number, number, number];
    const chain = await retransmissionAfter(g, async () => {
      g.slirp.input(eth(0x0800, ipv4({ dst: ip4(a, b, c, d), protocol: 1, payload: icmpEcho(7, 1, [1, 2, 3, 4]) })));
      await g.waitFor((f) => f[12] === 8 && f[13] === 0 && f[23] === 1 && f[34] === 0);
    });
    assert.deepEqual(chain, ['udp_output']);
  } finally {
    await g.slirp.close();
    fx.done();
  }
});

test('a datagram that waited for the guest\'s ARP reply keeps its route: sorecvfrom, udp_output, ip_output, if_output', async () => {
  // No MAC known for the guest: the first frame for it waits while slirp asks by ARP.
  const g = makeGuest({}, { guestMac: undefined });
  const { manager, stops } = breakpoints(g);
  const peer = dgram.createSocket('udp4');
  try {
    await g.slirp.addHostForward('udp:127.0.0.1:0-:5000');
    peer.send(Buffer.from('inbound'), g.slirp.udpForwardPorts[0]!, '127.0.0.1');
    await g.waitFor((f) => f[12] === 8 && f[13] === 6);
    manager.set([{ stage: 'net_slirp_send_packet' }]);
    g.slirp.input(arp(2, GUEST_IP, HOST_IP, GUEST_MAC, GATEWAY_MAC));
    assert.equal(stops.length, 1, 'the waiting datagram leaves');
    assert.deepEqual(stops[0]!.stageChain, ['sorecvfrom', 'udp_output', ...SLIRP_OUT]);
    manager.continue();
    assert.equal(udpOf(await g.waitFor(isUdpTo(5000))).destinationPort, 5000);
  } finally {
    manager.dispose();
    peer.close();
    await g.slirp.close();
  }
});

test('a short host read, sent at the end of the turn, and one held at soread show soread before tcp_output', async () => {
  const h = new Harness();
  const server = new HostServer();
  const { manager, stops } = breakpoints(h);
  try {
    const port = await server.start();
    const g = h.connect(port);
    await h.run(() => g.state === 'ESTABLISHED' && server.sockets.length === 1, 'established');
    manager.set([{ stage: 'tcp_output' }]);
    server.sockets[0]!.write('hello');
    await h.run(() => stops.length === 1, 'the data segment');
    assert.deepEqual(stops[0]!.stageChain, ['soread', 'tcp_output']);
    manager.set([{ stage: 'soread' }, { stage: 'tcp_output' }]);
    manager.continue();
    await h.run(() => g.receivedBytes === 5, 'hello');
    server.sockets[0]!.write('again');
    await h.run(() => stops.length === 2, 'the read held at soread');
    assert.equal(stops[1]!.hit.stage, 'soread');
    manager.continue();
    await h.run(() => stops.length === 3, 'its segment');
    assert.deepEqual(stops[2]!.stageChain, ['soread', 'tcp_output']);
    manager.set([]);
    manager.continue();
    await h.run(() => g.receivedBytes === 10, 'again');
  } finally {
    manager.dispose();
    h.close();
    await server.stop();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SLIRP_CONFIG, forBundledGuest, ip4, JUMBO_MTU } from '../../../extension/slirp/config';
import { parseDhcpOptions } from '../../../extension/wire/dhcp';
import { GUEST_IP, guestDhcp, HOST_IP } from './helpers/frames';
import { ipOf, makeGuest, udpOf } from './helpers/harness';

function reply(frame: Uint8Array) {
  const ip = ipOf(frame);
  const u = udpOf(frame);
  const m = u.payload;
  const opts = parseDhcpOptions(m.subarray(240));
  assert.ok(typeof opts !== 'string', 'reply options parse');
  const optionCodes: number[] = [];
  for (let i = 240; i < m.length && m[i] !== 255; ) {
    if (m[i] === 0) {
      i++;
      continue;
    }
    optionCodes.push(m[i]!);
    i += 2 + m[i + 1]!;
  }
  const addr = (o: number) => {
    const v = (opts as Map<number, Uint8Array>).get(o)!;
    return ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
  };
  return {
    ip,
    srcPort: u.sourcePort,
    dstPort: u.destinationPort,
    op: m[0],
    xid: ((m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!) >>> 0,
    yiaddr: ((m[16]! << 24) | (m[17]! << 16) | (m[18]! << 8) | m[19]!) >>> 0,
    siaddr: ((m[20]! << 24) | (m[21]! << 16) | (m[22]! << 8) | m[23]!) >>> 0,
    file: new TextDecoder().decode(m.subarray(108, 236)).replace(/\0+$/, ''),
    type: (opts as Map<number, Uint8Array>).get(53)![0],
    opts: opts as Map<number, Uint8Array>,
    optionCodes,
    addr,
    text: (o: number) => new TextDecoder().decode((opts as Map<number, Uint8Array>).get(o)),
  };
}

const mac = (n: number) => Uint8Array.from([0x52, 0x54, 0, 0, 0, n]);

test('DORA: DISCOVER gets an OFFER of 10.0.2.15 with libslirp options; REQUEST gets the ACK', () => {
  const g = makeGuest({ mtu: 1500 });
  g.slirp.input(guestDhcp({ type: 1, xid: 0xabcd }));
  assert.equal(g.out.length, 1);
  const offer = reply(g.out[0]!);
  assert.equal(offer.type, 2);
  assert.equal(offer.op, 2);
  assert.equal(offer.xid, 0xabcd);
  assert.equal(offer.yiaddr, GUEST_IP);
  assert.equal(offer.ip.source, HOST_IP);
  assert.equal(offer.ip.destination, 0xffffffff);
  assert.equal(offer.srcPort, 67);
  assert.equal(offer.dstPort, 68);
  assert.deepEqual([...g.out[0]!.subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
  assert.deepEqual(offer.optionCodes, [53, 54, 1, 3, 6, 51]);
  assert.equal(offer.addr(54), HOST_IP);
  assert.equal(offer.addr(1), ip4(255, 255, 255, 0));
  assert.equal(offer.addr(3), HOST_IP);
  assert.equal(offer.addr(6), ip4(10, 0, 2, 3));
  assert.equal(offer.addr(51), 86400);

  g.slirp.input(guestDhcp({ type: 3, xid: 0xabce, requested: GUEST_IP, serverId: HOST_IP }));
  const ack = reply(g.out[1]!);
  assert.equal(ack.type, 5);
  assert.equal(ack.yiaddr, GUEST_IP);
  assert.equal(ack.xid, 0xabce);
  assert.equal(g.slirp.guestAddress, GUEST_IP);
});

test('the lease offers the link MTU (option 26) unless it is 1500: libslirp\'s lease by default, jumbo for the bundled guest, mtu=N as given', () => {
  const mtuOf = (config: Parameters<typeof makeGuest>[0]) => {
    const g = makeGuest(config);
    g.slirp.input(guestDhcp({ type: 1 }));
    g.slirp.input(guestDhcp({ type: 3, requested: GUEST_IP, serverId: HOST_IP }));
    const [offer, ack] = g.out.map(reply);
    assert.deepEqual(offer!.opts.get(26), ack!.opts.get(26), 'OFFER and ACK agree');
    const v = ack!.opts.get(26);
    return v && ((v[0]! << 8) | v[1]!);
  };
  assert.equal(mtuOf({}), undefined, "a guest that is not ours gets libslirp's lease");
  assert.equal(mtuOf({ mtu: forBundledGuest(DEFAULT_SLIRP_CONFIG).mtu }), 9000);
  assert.equal(JUMBO_MTU, 9000);
  assert.equal(forBundledGuest({ ...DEFAULT_SLIRP_CONFIG, mtu: 1500, mtuGiven: true }).mtu, 1500, 'mtu= wins over the bundled guest\'s default');
  assert.equal(mtuOf({ mtu: 65520 }), 65520);
  assert.equal(mtuOf({ mtu: 1280 }), 1280);
  assert.equal(mtuOf({ mtu: 1500 }), undefined);
});

test('REQUEST for an address other than the lease gets a NAK', () => {
  const g = makeGuest();
  g.slirp.input(guestDhcp({ type: 1 }));
  g.slirp.input(guestDhcp({ type: 3, requested: ip4(10, 0, 2, 20) }));
  const nak = reply(g.out[1]!);
  assert.equal(nak.type, 6);
  assert.equal(nak.yiaddr, 0);
  assert.equal(nak.opts.has(51), false);
  // Outside the pool entirely, from a fresh client: NAK too.
  g.slirp.input(guestDhcp({ type: 3, mac: mac(9), requested: ip4(10, 0, 2, 200) }));
  assert.equal(reply(g.out[2]!).type, 6);
});

test('REQUEST naming another server is ignored', () => {
  const g = makeGuest();
  g.slirp.input(guestDhcp({ type: 3, requested: GUEST_IP, serverId: ip4(10, 0, 2, 9) }));
  assert.equal(g.out.length, 0);
  assert.equal(g.slirp.drops['dhcp-other-server'], 1);
});

test('RELEASE frees the lease for another client', () => {
  const g = makeGuest();
  g.slirp.input(guestDhcp({ type: 1, mac: mac(1) }));
  g.slirp.input(guestDhcp({ type: 3, mac: mac(1), requested: GUEST_IP }));
  assert.equal(reply(g.out[1]!).type, 5);
  g.slirp.input(guestDhcp({ type: 3, mac: mac(2), requested: GUEST_IP }));
  assert.equal(reply(g.out[2]!).type, 6, 'taken by client 1');
  g.slirp.input(guestDhcp({ type: 7, mac: mac(1), ciaddr: GUEST_IP }));
  assert.equal(g.out.length, 3, 'RELEASE has no reply');
  g.slirp.input(guestDhcp({ type: 3, mac: mac(2), requested: GUEST_IP }));
  assert.equal(reply(g.out[3]!).type, 5, 'free again');
});

test('INFORM is answered to the client address without a lease', () => {
  const g = makeGuest();
  const addr = ip4(10, 0, 2, 50);
  g.slirp.input(guestDhcp({ type: 8, ciaddr: addr }));
  assert.equal(g.out.length, 1);
  const ack = reply(g.out[0]!);
  assert.equal(ack.type, 5);
  assert.equal(ack.yiaddr, 0);
  assert.equal(ack.ip.destination, addr);
  assert.equal(ack.opts.has(51), false);
  assert.equal(ack.addr(6), ip4(10, 0, 2, 3));
  assert.deepEqual([...g.out[0]!.subarray(0, 6)], [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
});

test('16 leases, then DISCOVER from a 17th MAC gets nothing; the same MAC keeps its address', () => {
  const g = makeGuest();
  const given = new Set<number>();
  for (let i = 0; i < 16; i++) {
    g.slirp.input(guestDhcp({ type: 1, mac: mac(i) }));
    given.add(reply(g.out.at(-1)!).yiaddr);
  }
  assert.equal(given.size, 16);
  assert.deepEqual([...given].sort(), Array.from({ length: 16 }, (_, i) => ip4(10, 0, 2, 15 + i)).sort());
  g.slirp.input(guestDhcp({ type: 1, mac: mac(99) }));
  assert.equal(g.out.length, 16);
  assert.equal(g.slirp.drops['dhcp-no-free-lease'], 1);
  g.slirp.input(guestDhcp({ type: 1, mac: mac(3) }));
  assert.equal(reply(g.out.at(-1)!).yiaddr, ip4(10, 0, 2, 18));
  // After the lease time, addresses are free again.
  g.clock.advance(86400 * 1000 + 1);
  g.slirp.input(guestDhcp({ type: 1, mac: mac(99) }));
  assert.equal(reply(g.out.at(-1)!).type, 2);
});

test('hostname, domain, search list (option 119, RFC 3397), TFTP server name and bootfile', () => {
  const g = makeGuest({ mtu: 9000, hostname: 'vm1', domainName: 'example.test', dnsSearch: ['a.example', 'b.example.test'], tftpServerName: 'tftp.example', bootFile: 'pxelinux.0' });
  g.slirp.input(guestDhcp({ type: 1 }));
  const offer = reply(g.out[0]!);
  assert.deepEqual(offer.optionCodes, [53, 54, 1, 3, 6, 51, 26, 12, 15, 119, 66, 67]);
  assert.equal(offer.text(12), 'vm1');
  assert.equal(offer.text(15), 'example.test');
  assert.deepEqual([...offer.opts.get(119)!], [1, 97, 7, ...Buffer.from('example'), 0, 1, 98, 7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]);
  assert.equal(offer.text(66), 'tftp.example');
  assert.equal(offer.text(67), 'pxelinux.0');
  assert.equal(offer.file, 'pxelinux.0');
  assert.equal(offer.siaddr, HOST_IP);
});

test('a search list longer than 255 bytes is split over several 119 options (RFC 3396)', () => {
  const names = Array.from({ length: 12 }, (_, i) => `domain${i}.${'x'.repeat(20)}.example`);
  const g = makeGuest({ dnsSearch: names });
  g.slirp.input(guestDhcp({ type: 1 }));
  const offer = reply(g.out[0]!);
  assert.ok(offer.optionCodes.filter((c) => c === 119).length >= 2);
  const joined = offer.opts.get(119)!;
  let i = 0;
  const decoded: string[] = [];
  while (i < joined.length) {
    const labels: string[] = [];
    while (joined[i] !== 0) {
      labels.push(Buffer.from(joined.subarray(i + 1, i + 1 + joined[i]!)).toString());
      i += 1 + joined[i]!;
    }
    i++;
    decoded.push(labels.join('.'));
  }
  assert.deepEqual(decoded, names);
});

test('malformed DHCP is dropped and counted: truncated, bad cookie, overflowing option, no type', () => {
  const g = makeGuest();
  // Options whose length runs past the end of the datagram.
  g.slirp.input(guestDhcp({ type: 1, raw: [53, 1, 1, 12, 200, 65, 65] }));
  // Length byte missing.
  g.slirp.input(guestDhcp({ type: 1, raw: [53, 1, 1, 12] }));
  // No message type.
  g.slirp.input(guestDhcp({ type: 1, raw: [12, 1, 65, 255] }));
  // Requested address of the wrong size.
  g.slirp.input(guestDhcp({ type: 3, extra: [50, 2, 10, 0] }));
  assert.equal(g.out.length, 0);
  assert.equal(g.slirp.drops['dhcp-bad-option'], 3);
  assert.equal(g.slirp.drops['dhcp-no-message-type'], 1);
});

test('DHCP shorter than the BOOTP header or without the magic cookie is dropped', async () => {
  const { eth, ipv4, udp, dhcp } = await import('./helpers/frames');
  const g = makeGuest();
  const short = dhcp({ type: 1 }).subarray(0, 200);
  g.slirp.input(eth(0x0800, ipv4({ src: 0, dst: 0xffffffff, protocol: 17, payload: udp(0, 0xffffffff, 68, 67, short) })));
  const noCookie = dhcp({ type: 1 });
  noCookie[236] = 0;
  g.slirp.input(eth(0x0800, ipv4({ src: 0, dst: 0xffffffff, protocol: 17, payload: udp(0, 0xffffffff, 68, 67, noCookie) })));
  assert.equal(g.slirp.drops['dhcp-truncated'], 1);
  assert.equal(g.slirp.drops['dhcp-bad-cookie'], 1);
  assert.equal(g.out.length, 0);
});

test('restrict=on: the lease names no router and no DNS server (as libslirp), the address and mask stay', () => {
  const codesOf = (restrict: boolean) => {
    const g = makeGuest({ restrict });
    g.slirp.input(guestDhcp({ type: 1 }));
    g.slirp.input(guestDhcp({ type: 3, requested: GUEST_IP, serverId: HOST_IP }));
    const [offer, ack] = g.out.map(reply);
    assert.equal(ack!.yiaddr, GUEST_IP);
    assert.deepEqual(offer!.optionCodes, ack!.optionCodes, 'OFFER and ACK agree');
    return ack!.optionCodes;
  };
  assert.deepEqual(codesOf(false), [53, 54, 1, 3, 6, 51]);
  assert.deepEqual(codesOf(true), [53, 54, 1, 51]);
});

import assert from 'node:assert/strict';
import { describeHitBriefly } from '../../../extension/pipeline/trace';
import { test } from 'node:test';
import type { ProbeHit, SessionInfo } from '../../../extension/pipeline/probe';
import { stagePath, STAGE_PARENTS } from '../../../extension/pipeline/stage-path';
import { RX_STAGES, STAGE_BY_NAME, TX_STAGES, type EngineKind, type StageName } from '../../../extension/pipeline/stages';
import * as P from './packets';

const EMPTY = new Uint8Array(0);
const NIC_TX: StageName[] = ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet', 'qemu_send_packet'];
const SLIRP_IN: StageName[] = ['net_slirp_receive', 'slirp_input'];
const SLIRP_OUT: StageName[] = ['ip_output', 'if_output', 'net_slirp_send_packet'];
const NIC_RX: StageName[] = ['qemu_receive_packet', 'e1000_receive_iov'];

function session(protocol: SessionInfo['protocol']): SessionInfo {
  return { id: 7, protocol, state: 'ESTABLISHED', guestAddr: '10.0.2.15', guestPort: 5000, hostAddr: '127.0.0.1', hostPort: 9999 };
}
const UDP_SESSION = session('udp');

/** As slirp shows a frame before ip_output: the transport bytes after Ethernet and IPv4 headers not written yet. */
function beforeIpOutput(frame: Uint8Array): Uint8Array {
  const out = frame.slice();
  out.fill(0, 0, 34);
  return out;
}

interface Row {
  readonly name: string;
  readonly stage: StageName;
  readonly frame: Uint8Array;
  readonly session?: SessionInfo;
  readonly payload?: Uint8Array;
  /** Under each engine; `qemu` defaults to `embedded` without the NIC and net-queue stages. */
  readonly embedded: StageName[];
  readonly qemu?: StageName[];
}

const QEMU_LESS = new Set<StageName>([...NIC_TX, ...NIC_RX]);

const ROWS: Row[] = [
  // Guest to host.
  { name: 'ARP request', stage: 'arp_input', frame: P.arpRequest, embedded: [...NIC_TX, ...SLIRP_IN, 'arp_input'] },
  { name: 'TCP SYN', stage: 'tcp_input', frame: P.syn, embedded: [...NIC_TX, ...SLIRP_IN, 'ip_input', 'tcp_input'] },
  { name: 'TCP data at sosend', stage: 'sosend', frame: EMPTY, session: session('tcp'), payload: new Uint8Array(16),
    embedded: [...NIC_TX, ...SLIRP_IN, 'ip_input', 'tcp_input', 'sosend'] },
  { name: 'UDP datagram', stage: 'sosendto', frame: P.udpData, session: UDP_SESSION, embedded: [...NIC_TX, ...SLIRP_IN, 'ip_input', 'udp_input', 'sosendto'] },
  { name: 'DHCP discover', stage: 'bootp_input', frame: P.dhcpDiscover, embedded: [...NIC_TX, ...SLIRP_IN, 'ip_input', 'udp_input', 'bootp_input'] },
  { name: 'DNS query at dns_input', stage: 'dns_input', frame: P.dnsQuery, embedded: [...NIC_TX, ...SLIRP_IN, 'ip_input', 'udp_input', 'dns_input'] },
  { name: 'DNS query to 10.0.2.3 at sosendto', stage: 'sosendto', frame: P.dnsQuery, session: UDP_SESSION,
    embedded: [...NIC_TX, ...SLIRP_IN, 'ip_input', 'udp_input', 'dns_input', 'sosendto'] },
  { name: 'DNS query to another server at sosendto', stage: 'sosendto', frame: P.dnsQueryElsewhere, session: UDP_SESSION,
    embedded: [...NIC_TX, ...SLIRP_IN, 'ip_input', 'udp_input', 'sosendto'] },
  { name: 'TFTP read request', stage: 'tftp_input', frame: P.tftpRead, embedded: [...NIC_TX, ...SLIRP_IN, 'ip_input', 'udp_input', 'tftp_input'] },
  { name: 'ICMP echo request', stage: 'icmp_input', frame: P.pingGateway, embedded: [...NIC_TX, ...SLIRP_IN, 'ip_input', 'icmp_input'] },
  { name: 'a frame at the NIC', stage: 'e1000_send_packet', frame: P.syn, embedded: ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet'], qemu: ['e1000_send_packet'] },
  { name: 'a register write', stage: 'e1000_mmio_write', frame: EMPTY, embedded: ['e1000_mmio_write'] },
  { name: 'an MMIO access', stage: 'address_space_rw', frame: EMPTY, embedded: ['address_space_rw'] },

  // Host to guest.
  { name: 'TCP data', stage: 'e1000_receive_iov', frame: P.httpOk, embedded: ['soread', 'tcp_output', ...SLIRP_OUT, ...NIC_RX],
    qemu: ['soread', 'tcp_output', ...SLIRP_OUT, 'e1000_receive_iov'] },
  { name: 'TCP data at tcp_output', stage: 'tcp_output', frame: P.httpOk, embedded: ['soread', 'tcp_output'] },
  { name: 'TCP SYN-ACK', stage: 'net_slirp_send_packet', frame: P.synAck, embedded: ['tcp_output', ...SLIRP_OUT] },
  { name: 'TCP SYN-ACK at the NIC', stage: 'e1000_receive_iov', frame: P.synAck, embedded: ['tcp_output', ...SLIRP_OUT, ...NIC_RX] },
  { name: 'soread', stage: 'soread', frame: EMPTY, session: session('tcp'), payload: new Uint8Array(3), embedded: ['soread'] },
  { name: 'UDP reply', stage: 'e1000_receive_iov', frame: P.udpReply, embedded: ['sorecvfrom', 'udp_output', ...SLIRP_OUT, ...NIC_RX] },
  { name: 'UDP reply at udp_output', stage: 'udp_output', frame: beforeIpOutput(P.udpReply), session: UDP_SESSION, embedded: ['sorecvfrom', 'udp_output'] },
  { name: 'UDP reply at ip_output', stage: 'ip_output', frame: P.udpReply, session: UDP_SESSION, embedded: ['sorecvfrom', 'udp_output', 'ip_output'] },
  { name: 'DNS response', stage: 'qemu_receive_packet', frame: P.dnsResponse, embedded: ['sorecvfrom', 'udp_output', ...SLIRP_OUT, 'qemu_receive_packet'] },
  { name: 'DHCP offer', stage: 'e1000_receive_iov', frame: P.dhcpOffer, embedded: ['udp_output', ...SLIRP_OUT, ...NIC_RX] },
  { name: 'DHCP offer at udp_output', stage: 'udp_output', frame: beforeIpOutput(P.dhcpOffer), embedded: ['udp_output'] },
  { name: 'TFTP error from port 69', stage: 'e1000_receive_iov', frame: P.tftpError, embedded: ['udp_output', ...SLIRP_OUT, ...NIC_RX] },
  { name: 'TFTP data from a transfer port, seen with its (absent) session', stage: 'if_output', frame: P.tftpData, embedded: ['udp_output', 'ip_output', 'if_output'] },
  { name: 'ICMP echo reply', stage: 'e1000_receive_iov', frame: P.pongGateway, embedded: ['icmp_reflect', ...SLIRP_OUT, ...NIC_RX] },
  { name: 'ICMP echo reply at icmp_reflect', stage: 'icmp_reflect', frame: beforeIpOutput(P.pongGateway), embedded: ['icmp_reflect'] },
  { name: 'ARP reply from slirp', stage: 'e1000_receive_iov', frame: P.arpReply, embedded: ['net_slirp_send_packet', ...NIC_RX] },
  { name: 'an interrupt', stage: 'set_ics', frame: EMPTY, embedded: ['set_ics'] },
];

for (const engine of ['embedded', 'qemu'] as EngineKind[]) {
  test(`stagePath under the ${engine} engine: the stages each kind of packet crossed, oldest first`, () => {
    for (const row of ROWS) {
      const hit: ProbeHit = { stage: row.stage, frame: row.frame, session: row.session, payload: row.payload };
      const expected = engine === 'embedded' ? row.embedded : row.qemu ?? row.embedded.filter((s) => s === row.stage || !QEMU_LESS.has(s));
      assert.deepEqual(stagePath(row.stage, hit, { engine }), expected, `${row.name} at ${row.stage}`);
    }
  });
}

test('stagePath: the DNS address is the configured one', () => {
  const hit: ProbeHit = { stage: 'sosendto', frame: P.dnsQueryElsewhere, session: UDP_SESSION };
  const network = { host: 0x0a000202, dns: 0x08080808 };
  assert.deepEqual(stagePath('sosendto', hit, { network }).slice(-3), ['udp_input', 'dns_input', 'sosendto']);
  assert.deepEqual(stagePath('sosendto', { ...hit, frame: P.dnsQuery }, { network }).slice(-3), ['ip_input', 'udp_input', 'sosendto']);
});

test('stagePath: every chain stays in its direction, in stage order, and follows the tree', () => {
  for (const row of ROWS) {
    const path = stagePath(row.stage, { stage: row.stage, frame: row.frame, session: row.session, payload: row.payload });
    const order: readonly StageName[] = STAGE_BY_NAME.get(row.stage)!.direction === 'tx' ? TX_STAGES : RX_STAGES;
    const positions = path.map((s) => order.indexOf(s));
    assert.ok(positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!)), `${row.name}: ${path}`);
    for (let i = 1; i < path.length; i++) assert.ok(STAGE_PARENTS[path[i]!].includes(path[i - 1]!), `${row.name}: ${path[i - 1]} -> ${path[i]}`);
  }
});

test('IPv6 frames take the ip6_* stages: an echo reply at if_output came through icmp6_send_echoreply and ip6_output', async () => {
  const { frame6, icmp6, GUEST6, HOST6 } = await import('../slirp/helpers/frames6');
  const reply = frame6({ src: HOST6, dst: GUEST6, nextHeader: 58, payload: icmp6(HOST6, GUEST6, 129, 0, [0, 1, 0, 1]) });
  const hit = (stage: StageName, frame: Uint8Array): ProbeHit => ({ stage, frame });
  assert.deepEqual(stagePath('if_output', hit('if_output', reply)), ['icmp6_send_echoreply', 'ip6_output', 'if_output']);
  const ra = frame6({ src: HOST6, dst: GUEST6, nextHeader: 58, payload: icmp6(HOST6, GUEST6, 134, 0, new Array(12).fill(0)) });
  assert.deepEqual(stagePath('ip6_output', hit('ip6_output', ra)), ['ndp_send_ra', 'ip6_output']);
  const request = frame6({ dst: HOST6, nextHeader: 58, payload: icmp6(GUEST6, HOST6, 128, 0, [0, 1, 0, 1]) });
  assert.deepEqual(stagePath('icmp6_input', hit('icmp6_input', request)).slice(-3), ['slirp_input', 'ip6_input', 'icmp6_input']);
  const syn = frame6({ dst: HOST6, nextHeader: 6, payload: new Array(20).fill(0) });
  assert.deepEqual(stagePath('tcp_input', hit('tcp_input', syn)).slice(-2), ['ip6_input', 'tcp_input']);
});

test('a forwarded echo: the request reaches sosendto from icmp_input or icmp6_input; a relayed reply (it carries its flow) comes from sorecvfrom', async () => {
  const { frame6, icmp6, GUEST6 } = await import('../slirp/helpers/frames6');
  const { parseIpv6 } = await import('../../../extension/wire/ipv6-address');
  const remote = parseIpv6('fd00:198::1')!;
  const icmpFlow = session('icmp');
  const request6 = frame6({ dst: remote, nextHeader: 58, payload: icmp6(GUEST6, remote, 128, 0, [0, 1, 0, 1]) });
  assert.deepEqual(stagePath('sosendto', { stage: 'sosendto', frame: request6, session: icmpFlow }).slice(-3), ['ip6_input', 'icmp6_input', 'sosendto']);
  const reply6 = frame6({ src: remote, dst: GUEST6, nextHeader: 58, payload: icmp6(remote, GUEST6, 129, 0, [0, 1, 0, 1]) });
  assert.deepEqual(stagePath('if_output', { stage: 'if_output', frame: reply6, session: icmpFlow }), ['sorecvfrom', 'icmp6_send_echoreply', 'ip6_output', 'if_output']);
  assert.deepEqual(stagePath('icmp_reflect', { stage: 'icmp_reflect', frame: beforeIpOutput(P.pongGateway), session: icmpFlow }), ['sorecvfrom', 'icmp_reflect']);
  assert.deepEqual(stagePath('icmp_reflect', { stage: 'icmp_reflect', frame: beforeIpOutput(P.pongGateway) }), ['icmp_reflect'], "the gateway's own answer");
});

test('a stop with no frame yet is described as such, not as a truncated frame', () => {
  assert.equal(describeHitBriefly({ stage: 'start_xmit', frame: new Uint8Array(0) }), 'no frame at this stage yet');
  assert.match(describeHitBriefly({ stage: 'ip_input', frame: new Uint8Array(6) }), /truncated frame \(6 bytes\)/);
});

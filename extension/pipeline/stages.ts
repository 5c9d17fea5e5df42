/**
 * The stages of the packet pipeline, named as in QEMU and libslirp so that a
 * reader of their source (or a GDB user typing `break slirp_input`) finds the
 * same names here. Order within each direction is the order a frame meets them.
 */
export const TX_STAGES = [
  'address_space_rw',
  'e1000_mmio_write',
  'start_xmit',
  'process_tx_desc',
  'e1000_send_packet',
  'qemu_send_packet',
  'net_slirp_receive',
  'slirp_input',
  'arp_input',
  'ip_input',
  'ip6_input',
  'tcp_input',
  'udp_input',
  'udp6_input',
  'icmp_input',
  'icmp6_input',
  'ndp_input',
  'bootp_input',
  'dhcpv6_input',
  'tftp_input',
  'dns_input',
  'sosend',
  'sosendto',
] as const;

export const RX_STAGES = [
  'soread',
  'sorecvfrom',
  'tcp_output',
  'udp_output',
  'udp6_output',
  'icmp_reflect',
  'icmp6_send_echoreply',
  'icmp6_send_error',
  'ndp_send_ra',
  'ndp_send_na',
  'ndp_send_ns',
  'ip_output',
  'ip6_output',
  'if_output',
  'net_slirp_send_packet',
  'qemu_receive_packet',
  'e1000_receive_iov',
  'set_ics',
] as const;

export type TxStage = (typeof TX_STAGES)[number];
export type RxStage = (typeof RX_STAGES)[number];
export type StageName = TxStage | RxStage;

export type Direction = 'tx' | 'rx';
/** Who implements the stage: under the QEMU engine the `nic` stages are QEMU's, not ours. */
export type StageOwner = 'nic' | 'netqueue' | 'slirp';
export type Layer = 'mmio' | 'nic' | 'queue' | 'link' | 'network' | 'transport' | 'application' | 'socket';

export interface StageInfo {
  readonly name: StageName;
  readonly direction: Direction;
  readonly owner: StageOwner;
  readonly layer: Layer;
  readonly description: string;
}

function stage(name: StageName, direction: Direction, owner: StageOwner, layer: Layer, description: string): StageInfo {
  return { name, direction, owner, layer, description };
}

export const STAGES: readonly StageInfo[] = [
  stage('address_space_rw', 'tx', 'nic', 'mmio', 'the guest CPU accesses the e1000 BAR (an MMIO exit)'),
  stage('e1000_mmio_write', 'tx', 'nic', 'mmio', 'a register write reaches the e1000 (TDT moves start transmission)'),
  stage('start_xmit', 'tx', 'nic', 'nic', 'the e1000 walks its TX ring from TDH to TDT'),
  stage('process_tx_desc', 'tx', 'nic', 'nic', 'one TX descriptor (legacy, context or data) is consumed'),
  stage('e1000_send_packet', 'tx', 'nic', 'nic', 'a complete frame (after checksum offload / TSO) leaves the e1000'),
  stage('qemu_send_packet', 'tx', 'netqueue', 'queue', 'the net queue carries a frame between NIC and backend; capture runs here'),
  stage('net_slirp_receive', 'tx', 'slirp', 'queue', 'the slirp backend takes a frame from the net queue'),
  stage('slirp_input', 'tx', 'slirp', 'link', 'slirp dispatches a frame by ethertype'),
  stage('arp_input', 'tx', 'slirp', 'link', 'an ARP request or reply from the guest'),
  stage('ip_input', 'tx', 'slirp', 'network', 'an IPv4 datagram: header checks and reassembly'),
  stage('ip6_input', 'tx', 'slirp', 'network', 'an IPv6 datagram: header and extension-header checks, reassembly'),
  stage('tcp_input', 'tx', 'slirp', 'transport', 'a TCP segment from the guest meets its connection'),
  stage('udp_input', 'tx', 'slirp', 'transport', 'a UDP datagram from the guest'),
  stage('udp6_input', 'tx', 'slirp', 'transport', 'a UDP datagram from the guest over IPv6'),
  stage('icmp_input', 'tx', 'slirp', 'transport', 'an ICMP message from the guest'),
  stage('icmp6_input', 'tx', 'slirp', 'transport', 'an ICMPv6 message from the guest'),
  stage('ndp_input', 'tx', 'slirp', 'link', 'a neighbour discovery message: router or neighbour solicitation, advertisement'),
  stage('bootp_input', 'tx', 'slirp', 'application', 'a DHCP/BOOTP request to the built-in server'),
  stage('dhcpv6_input', 'tx', 'slirp', 'application', 'a DHCPv6 Information-Request to the built-in stateless server'),
  stage('tftp_input', 'tx', 'slirp', 'application', 'a TFTP request to the built-in server'),
  stage('dns_input', 'tx', 'slirp', 'application', 'a DNS query to 10.0.2.3 or fec0::3, forwarded to the host resolver'),
  stage('sosend', 'tx', 'slirp', 'socket', 'TCP payload written to the host socket'),
  stage('sosendto', 'tx', 'slirp', 'socket', 'a UDP/ICMP datagram sent from a host socket'),
  stage('soread', 'rx', 'slirp', 'socket', 'bytes read from a host TCP socket'),
  stage('sorecvfrom', 'rx', 'slirp', 'socket', 'a datagram received on a host UDP/ICMP socket'),
  stage('tcp_output', 'rx', 'slirp', 'transport', 'slirp builds a TCP segment for the guest'),
  stage('udp_output', 'rx', 'slirp', 'transport', 'slirp builds a UDP datagram for the guest'),
  stage('udp6_output', 'rx', 'slirp', 'transport', 'slirp builds a UDP datagram for the guest over IPv6'),
  stage('icmp_reflect', 'rx', 'slirp', 'transport', 'slirp answers or relays an ICMP message to the guest'),
  stage('icmp6_send_echoreply', 'rx', 'slirp', 'transport', 'slirp answers an ICMPv6 echo request to the gateway or the DNS address'),
  stage('icmp6_send_error', 'rx', 'slirp', 'transport', 'slirp tells the guest an IPv6 datagram failed (unreachable, too big, time exceeded)'),
  stage('ndp_send_ra', 'rx', 'slirp', 'link', 'slirp advertises the router and the prefix (answering a solicitation, or periodically)'),
  stage('ndp_send_na', 'rx', 'slirp', 'link', 'slirp answers a neighbour solicitation for the gateway or the DNS address'),
  stage('ndp_send_ns', 'rx', 'slirp', 'link', 'slirp asks the guest for the MAC of one of its IPv6 addresses'),
  stage('ip_output', 'rx', 'slirp', 'network', 'slirp builds the IPv4 header'),
  stage('ip6_output', 'rx', 'slirp', 'network', 'slirp builds the IPv6 header (and fragments)'),
  stage('if_output', 'rx', 'slirp', 'link', 'slirp resolves the guest MAC and frames the datagram'),
  stage('net_slirp_send_packet', 'rx', 'slirp', 'queue', 'slirp hands a frame to the net queue'),
  stage('qemu_receive_packet', 'rx', 'netqueue', 'queue', 'the net queue delivers a frame to the NIC; capture runs here'),
  stage('e1000_receive_iov', 'rx', 'nic', 'nic', 'the e1000 filters the frame and writes RX descriptors'),
  stage('set_ics', 'rx', 'nic', 'nic', 'the e1000 raises an interrupt cause'),
];

export const STAGE_BY_NAME: ReadonlyMap<string, StageInfo> = new Map(STAGES.map((s) => [s.name, s]));

export function isStageName(name: string): name is StageName {
  return STAGE_BY_NAME.has(name);
}

/**
 * Which engine runs the guest: 'embedded' (v86 with our e1000, every stage ours)
 * or 'qemu' (QEMU's NIC, our slirp behind -netdev stream). Declared once, here.
 */
export type EngineKind = 'embedded' | 'qemu';

/**
 * Whether `stage` runs under `engine`: under QEMU the NIC and the net queue are
 * QEMU's own, so their probes never fire and no packet is seen crossing them.
 */
export function stageRunsUnder(engine: EngineKind, stage: StageName): boolean {
  return engine === 'embedded' || STAGE_BY_NAME.get(stage)!.owner === 'slirp';
}

/**
 * Why a frame (or part of one) was discarded: a fixed list, like the kernel's
 * `enum skb_drop_reason`, each reason with the stage that discards for it.
 * docs/drop-reasons.md lists the same reasons (a unit test keeps the two equal).
 *
 * The stage is where the reason is usually decided; a site that decides it
 * elsewhere passes its own stage to DropLedger.drop (e.g. `nat-table-full` for
 * a hostfwd datagram is decided at sorecvfrom, not udp_input). Reasons are
 * grouped by stage in pipeline order, names prefixed by their protocol.
 */
import type { StageName } from './stages';

export interface DropReasonInfo {
  /** Where the reason is decided unless the site says otherwise. */
  readonly stage: StageName;
  /** One line for people: what was wrong or full. */
  readonly summary: string;
  /**
   * The guest's ordinary traffic that this network has no use for (its IPv6
   * duplicate address detection, its multicast listener reports): every
   * booted Linux guest sends some, so the views show these apart from the
   * drops that mean something went wrong, and "Break on drop" for every
   * reason passes them by.
   */
  readonly routine?: true;
}

const at = (stage: StageName, summary: string): DropReasonInfo => ({ stage, summary });
const routine = (stage: StageName, summary: string): DropReasonInfo => ({ stage, summary, routine: true });

export const DROP_REASONS = {
  // The e1000 (embedded engine only: under QEMU the NIC is QEMU's).
  'tx-packet-too-large': at('process_tx_desc', 'the descriptors of one packet add up to more than 64 KiB (TSO: 255 header bytes and 256 KiB)'),
  'tx-dma-outside-ram': at('process_tx_desc', 'a TX buffer address lies outside guest RAM'),
  'tx-tso-bad-context': at('process_tx_desc', 'the TSO context is unusable (MSS 0, header length or offsets beyond the packet)'),
  'tx-link-down': at('e1000_send_packet', 'the link is down (the guest set it down, or the cable is out)'),
  'rx-disabled': at('e1000_receive_iov', 'the receiver is off (RCTL.EN clear) or the link is down'),
  'rx-runt': at('e1000_receive_iov', 'shorter than an Ethernet header'),
  'rx-oversize': at('e1000_receive_iov', 'longer than the receiver takes (RCTL.LPE, SBP)'),
  'rx-filtered': at('e1000_receive_iov', 'not for this NIC: the unicast, multicast and VLAN filters turned it away'),
  'rx-ring-full': at('e1000_receive_iov', 'no free RX descriptors (missed packet: MPC, RXO)'),
  'rx-dma-outside-ram': at('e1000_receive_iov', 'an RX descriptor address lies outside guest RAM'),
  // The net queue.
  'netqueue-full': at('qemu_receive_packet', `frames for the guest wait in the net queue, at most 1024, while the guest has no RX buffers`),
  'netem-loss': at('qemu_send_packet', 'a network condition (netem loss) dropped it on purpose'),
  'netem-mtu': at('qemu_send_packet', 'a network condition (netem mtu) dropped it: larger than the MTU it sets'),
  'netem-limit': at('qemu_send_packet', 'a network condition held as many packets as its limit (delay and rate queues are bounded)'),
  // slirp: the link.
  'eth-truncated': at('slirp_input', 'shorter than an Ethernet header'),
  'eth-vlan-unsupported': at('slirp_input', 'an 802.1Q tagged frame: slirp has no VLANs'),
  'eth-unknown-type': at('slirp_input', 'an ethertype other than ARP, IPv4 and IPv6'),
  'ipv4-disabled': at('slirp_input', 'IPv4 while the netdev has ipv4=off'),
  'ipv6-disabled': at('slirp_input', 'IPv6 while the netdev has ipv6=off'),
  'internal-error': at('slirp_input', 'the stack failed on this frame (a bug: reported once on the log)'),
  'arp-truncated': at('arp_input', 'shorter than an ARP message'),
  'arp-bad-format': at('arp_input', 'not Ethernet/IPv4 ARP'),
  'arp-bad-operation': at('arp_input', 'neither request nor reply'),
  // slirp: IPv4 and reassembly.
  'ip-truncated': at('ip_input', 'shorter than an IPv4 header'),
  'ip-bad-version': at('ip_input', 'version is not 4'),
  'ip-bad-ihl': at('ip_input', 'header length below 20 bytes'),
  'ip-bad-length': at('ip_input', 'total length below the header length'),
  'ip-length-exceeds-frame': at('ip_input', 'total length beyond the frame (truncated)'),
  'ip-options-overrun': at('ip_input', 'the options run past the header'),
  'ip-bad-checksum': at('ip_input', 'bad IPv4 header checksum'),
  'ip-bad-source': at('ip_input', "a source that cannot be the guest's (the gateway, DNS, broadcast, multicast)"),
  'ip-source-outside-net': at('ip_input', 'a source outside the guest network'),
  'ip-ttl-expired': at('ip_input', 'TTL 0, or 1 on a datagram forwarded off the guest network (answered with ICMP time exceeded from the gateway)'),
  'ip-broadcast': at('ip_input', 'TCP or ICMP to a broadcast or multicast address'),
  'ip-unsupported-protocol': at('ip_input', 'a protocol other than TCP, UDP and ICMP'),
  'frag-bad-length': at('ip_input', 'a fragment that is not a multiple of 8 bytes before the last'),
  'frag-empty': at('ip_input', 'a fragment without payload'),
  'frag-overlap': at('ip_input', 'a fragment overlapping another with different bytes'),
  'frag-oversized': at('ip_input', 'fragments reaching past 65535 bytes'),
  'frag-too-many': at('ip_input', 'more fragments for one datagram than the limit'),
  'frag-memory-limit': at('ip_input', 'the bytes held for reassembly reached their limit'),
  'frag-evicted': at('ip_input', 'an unfinished datagram pushed out by newer ones (datagram limit)'),
  'frag-timeout': at('ip_input', 'an unfinished datagram expired (its fragments are discarded)'),
  // slirp: UDP, and the host sockets behind it.
  'udp-truncated': at('udp_input', 'shorter than a UDP header'),
  'udp-bad-length': at('udp_input', 'UDP length below 8'),
  'udp-length-exceeds-ip': at('udp_input', 'UDP length beyond the IP payload'),
  'udp-bad-checksum': at('udp_input', 'bad UDP checksum'),
  'udp-bad-port': at('udp_input', 'source or destination port 0'),
  'udp-broadcast': at('udp_input', 'to a broadcast or multicast address (other than DHCP)'),
  'udp-restricted': at('udp_input', 'restrict=on: nothing leaves the guest network'),
  'udp-unreachable': at('udp_input', 'no host address for the destination (the guest network, loopback, multicast)'),
  'nat-table-full': at('udp_input', 'the NAT session table is full'),
  'udp-queue-full': at('sosendto', 'datagrams wait for a host socket to open, at most 64 per flow'),
  'udp-send-error': at('sosendto', 'the host socket refused the datagram'),
  'udp-port-unreachable': at('sosendto', 'the host said port unreachable (told to the guest by ICMP)'),
  'icmp-send-error': at('sosendto', 'the host ping socket refused the echo request (the gateway tells the guest unreachable)'),
  'icmpv6-send-error': at('sosendto', 'the host ping socket refused the echo request (the gateway tells the guest unreachable)'),
  'udp-socket-error': at('sorecvfrom', 'the host socket failed'),
  'icmp-socket-error': at('sorecvfrom', 'the host ping socket failed (the gateway tells the guest unreachable)'),
  'icmpv6-socket-error': at('sorecvfrom', 'the host ping socket failed (the gateway tells the guest unreachable)'),
  'icmp-bad-reply': at('sorecvfrom', 'the host ping socket gave something other than an echo reply'),
  'icmpv6-bad-reply': at('sorecvfrom', 'the host ping socket gave something other than an echo reply'),
  'udp-reply-unmapped': at('sorecvfrom', 'a reply from an address the guest cannot be shown'),
  'udp-paused-overflow': at('sorecvfrom', 'datagrams arriving while the VM is paused, past their bound'),
  'udp-hostfwd-ipv6-peer': at('sorecvfrom', 'an IPv6 peer on a udp hostfwd port'),
  // slirp: ICMP.
  'icmp-truncated': at('icmp_input', 'shorter than an ICMP header'),
  'icmp-bad-checksum': at('icmp_input', 'bad ICMP checksum'),
  'icmp-unsupported-type': at('icmp_input', 'an ICMP type other than echo request'),
  'icmp-restricted': at('icmp_input', 'restrict=on: pings leave the guest network only as the gateway answers them'),
  'icmp-forward-unsupported': at('icmp_input', 'the host gives no ping socket (koffi cannot load, or net.ipv4.ping_group_range leaves this user out): the log says which'),
  'icmp-no-host-address': at('icmp_input', 'an echo request to an address no host address stands for (the guest network, loopback, multicast)'),
  'icmp-echo-flows-full': at('icmp_input', 'as many echo flows are open as one VM may have (64 per family, each holds a host ping socket)'),
  // slirp: IPv6 (its reassembly counts the frag- reasons at ip6_input).
  'ipv6-truncated': at('ip6_input', 'shorter than an IPv6 header'),
  'ipv6-bad-version': at('ip6_input', 'version is not 6'),
  'ipv6-length-exceeds-frame': at('ip6_input', 'payload length beyond the frame (truncated)'),
  'ipv6-bad-ext-chain': at('ip6_input', 'extension headers out of order or repeated (RFC 8200 4.1)'),
  'ipv6-ext-truncated': at('ip6_input', 'an extension header runs past the payload'),
  'ipv6-routing-unsupported': at('ip6_input', 'a routing header with segments left (no source routing here)'),
  'ipv6-bad-option': at('ip6_input', 'a hop-by-hop or destination option runs past its header'),
  'ipv6-unknown-option': at('ip6_input', 'an unknown option whose type says discard'),
  'ipv6-jumbogram-unsupported': at('ip6_input', 'a jumbo payload option'),
  'ipv6-bad-fragment-header': at('ip6_input', 'a fragment header with reserved bits set'),
  'ipv6-bad-source': at('ip6_input', "a source that cannot be the guest's (the gateway, DNS, multicast; unspecified but for neighbour discovery)"),
  'ipv6-source-outside-net': at('ip6_input', 'a source neither in the prefix nor link-local'),
  'ipv6-hop-limit-exceeded': at('ip6_input', 'hop limit 0, or 1 for a datagram to forward (answered with time exceeded)'),
  'ipv6-too-big': at('ip6_input', 'larger than the link MTU (answered with packet too big)'),
  'ipv6-multicast': at('ip6_input', 'TCP to a multicast address'),
  'ipv6-no-next-header': at('ip6_input', 'no next header (nothing to deliver)'),
  'ipv6-unsupported-protocol': at('ip6_input', 'a protocol other than TCP, UDP and ICMPv6'),
  'tcp6-unsupported': at('ip6_input', 'TCP over IPv6 (not carried yet: the guest falls back to IPv4)'),
  'icmpv6-truncated': at('icmp6_input', 'shorter than an ICMPv6 message'),
  'icmpv6-bad-checksum': at('icmp6_input', 'bad ICMPv6 checksum'),
  'icmpv6-multicast-echo': at('icmp6_input', 'an echo request to a multicast group'),
  'icmpv6-restricted': at('icmp6_input', 'restrict=on: pings leave the guest network only as the gateway answers them'),
  'icmpv6-forward-unsupported': at('icmp6_input', 'the host gives no ping socket (koffi cannot load, or net.ipv4.ping_group_range leaves this user out): the log says which'),
  'icmpv6-no-host-address': at('icmp6_input', 'an echo request to an address no host address stands for (the prefix, loopback, link-local, IPv4-mapped)'),
  'icmpv6-echo-flows-full': at('icmp6_input', 'as many echo flows are open as one VM may have (64 per family, each holds a host ping socket)'),
  'icmpv6-error-from-guest': at('icmp6_input', "an ICMPv6 error the guest sent (it concerns no flow of the stack's)"),
  'icmpv6-unsupported-type': at('icmp6_input', 'an ICMPv6 type the stack does not take (an MLD query, a node information query, ...)'),
  'mld-report': routine('icmp6_input', "the guest's multicast listener reports (MLD): the gateway routes no multicast"),
  'ndp-bad-hop-limit': at('ndp_input', 'hop limit other than 255: sent from off the link, so forged (RFC 4861)'),
  'ndp-not-ndp': at('ndp_input', 'not a neighbour discovery message'),
  'ndp-bad-code': at('ndp_input', 'code other than 0'),
  'ndp-truncated': at('ndp_input', 'shorter than its message type'),
  'ndp-bad-option': at('ndp_input', 'an option of length 0, past the message, or with a bad length'),
  'ndp-too-many-options': at('ndp_input', 'more than 32 options'),
  'ndp-bad-source': at('ndp_input', 'a link-layer address from the unspecified source'),
  'ndp-bad-target': at('ndp_input', 'a multicast target'),
  'ndp-bad-destination': at('ndp_input', 'a solicitation or advertisement sent where it may not go'),
  'ndp-not-ours': at('ndp_input', 'a solicitation for an address the stack does not answer for'),
  'ndp-dad-probe': routine('ndp_input', "the guest's duplicate address detection (a solicitation from ::): no answer is what it waits for"),
  'ndp-spoofed-advertisement': at('ndp_input', "the guest claims the gateway's or the DNS's address"),
  'ndp-guest-router-advertisement': at('ndp_input', 'the guest advertised itself as a router'),
  'ndp-guest-redirect': at('ndp_input', 'the guest sent a redirect'),
  'udp-multicast': at('udp6_input', 'UDP over IPv6 to a multicast group (other than DHCPv6)'),
  'dhcpv6-truncated': at('dhcpv6_input', 'shorter than a DHCPv6 header'),
  'dhcpv6-bad-option': at('dhcpv6_input', 'an option runs past the message or has a bad length'),
  'dhcpv6-too-many-options': at('dhcpv6_input', 'more than 64 options'),
  'dhcpv6-unsupported-type': at('dhcpv6_input', 'a message other than Information-Request (addresses come from SLAAC)'),
  'dhcpv6-stateful-request': at('dhcpv6_input', 'a request naming an identity association (RFC 8415 18.2.6)'),
  'dhcpv6-bad-client-id': at('dhcpv6_input', 'a client id longer than 256 bytes'),
  // slirp: the built-in servers.
  'dhcp-truncated': at('bootp_input', 'shorter than a BOOTP message'),
  'dhcp-bad-cookie': at('bootp_input', 'no DHCP magic cookie'),
  'dhcp-bad-option': at('bootp_input', 'an option runs past the message or has a bad length'),
  'dhcp-not-request': at('bootp_input', 'a BOOTP reply sent to the server'),
  'dhcp-bad-hardware': at('bootp_input', 'hardware type not Ethernet'),
  'dhcp-no-message-type': at('bootp_input', 'no DHCP message type option'),
  'dhcp-bad-message-type': at('bootp_input', 'a message type the server does not take'),
  'dhcp-other-server': at('bootp_input', 'meant for another DHCP server'),
  'dhcp-no-free-lease': at('bootp_input', 'every lease is taken'),
  'dhcp-inform-without-address': at('bootp_input', 'DHCPINFORM without ciaddr'),
  'tftp-truncated': at('tftp_input', 'shorter than a TFTP message'),
  'tftp-unsupported': at('tftp_input', 'a TFTP request while no tftp= directory is served'),
  'tftp-bad-request': at('tftp_input', 'a request whose options do not come in name/value pairs'),
  'tftp-bad-name': at('tftp_input', 'a request whose file name is too long'),
  'tftp-bad-mode': at('tftp_input', 'a transfer mode other than octet and netascii'),
  'tftp-bad-opcode': at('tftp_input', 'an opcode the server does not take here'),
  'tftp-write-refused': at('tftp_input', 'a write request (the server is read-only)'),
  'tftp-no-transfer': at('tftp_input', 'an ACK for no transfer'),
  'tftp-ended-transfer': at('tftp_input', 'a message for a transfer that has ended'),
  'tftp-duplicate-ack': at('tftp_input', 'an ACK for another block than the one in flight'),
  'tftp-name-refused': at('tftp_input', 'a file name that is malformed or not UTF-8'),
  'tftp-outside-root': at('tftp_input', 'a file name that leaves the tftp= directory'),
  'tftp-sessions-full': at('tftp_input', 'too many transfers at once'),
  'tftp-read-error': at('tftp_input', 'the file could not be read'),
  'tftp-timeout': at('tftp_input', 'a transfer the guest stopped answering'),
  'dns-restricted': at('udp_input', 'restrict=on: DNS is not forwarded'),
  'dns-truncated': at('dns_input', 'a DNS query shorter than its header or questions'),
  'dns-not-query': at('dns_input', 'a DNS response sent to the resolver'),
  'dns-no-question': at('dns_input', 'a DNS query without a question'),
  'dns-too-many-questions': at('dns_input', 'more than 4 questions in one query'),
  'dns-bad-label': at('dns_input', 'a name with a reserved label type'),
  'dns-label-loop': at('dns_input', 'a name whose compression pointers loop or point forward'),
  'dns-name-too-long': at('dns_input', 'a name longer than 255 bytes'),
  'dns-no-upstream': at('dns_input', 'no resolver to forward to (resolv.conf names none): answered SERVFAIL'),
  'dns-upstream-refused': at('sosendto', 'the resolver\'s port is closed: the waiting queries are answered SERVFAIL'),
  // slirp: TCP (the segment's checks, then its connection's).
  'tcp-truncated-header': at('tcp_input', 'shorter than a TCP header'),
  'tcp-bad-data-offset': at('tcp_input', 'data offset below 20 bytes or past the segment'),
  'tcp-truncated-options': at('tcp_input', 'an option runs past the header'),
  'tcp-bad-options': at('tcp_input', 'an option with a bad length'),
  'tcp-bad-checksum': at('tcp_input', 'bad TCP checksum'),
  'tcp-zero-port': at('tcp_input', 'source or destination port 0'),
  'tcp-multicast-destination': at('tcp_input', 'to a broadcast or multicast address'),
  'tcp-rst-no-connection': at('tcp_input', 'RST for no connection'),
  'tcp-no-connection': at('tcp_input', 'a segment for no connection (answered by RST)'),
  'tcp-syn-fin': at('tcp_input', 'SYN and FIN together'),
  'tcp-max-connections': at('tcp_input', 'the connection limit (or the NAT table) is full'),
  'tcp-syn-backlog': at('tcp_input', 'too many half-open connections'),
  'tcp-unreachable-destination': at('tcp_input', 'no host address for the destination (answered by RST)'),
  'tcp-challenge-rate-limited': at('tcp_input', 'a challenge ACK or RST over the per-second limit'),
  'tcp-segment-while-connecting': at('tcp_input', 'a segment before the host socket connected'),
  'tcp-rst-out-of-window': at('tcp_input', 'RST outside the window'),
  'tcp-rst-challenged': at('tcp_input', 'RST in the window but not at the edge (challenge ACK, RFC 5961)'),
  'tcp-syn-in-time-wait': at('tcp_input', 'SYN in TIME-WAIT'),
  'tcp-syn-in-window': at('tcp_input', 'SYN on an established connection (challenge ACK)'),
  'tcp-duplicate': at('tcp_input', 'bytes already received'),
  'tcp-out-of-window': at('tcp_input', 'a segment outside the receive window'),
  'tcp-beyond-window': at('tcp_input', 'bytes past the receive window'),
  'tcp-ooo-full': at('tcp_input', 'out-of-order segments held, past their limit'),
  'tcp-no-ack': at('tcp_input', 'a segment without ACK'),
  'tcp-bad-ack': at('tcp_input', 'an ACK for nothing sent (handshake)'),
  'tcp-ack-unsent': at('tcp_input', 'an ACK for bytes not sent yet'),
  'tcp-ack-too-old': at('tcp_input', 'an ACK older than the window allows'),
  'tcp-simultaneous-open': at('tcp_input', 'a SYN answering our SYN (not supported)'),
  'tcp-no-syn': at('tcp_input', 'a first segment without SYN'),
  'tcp-internal-error': at('tcp_input', 'the TCP layer failed on this segment (a bug: reported once on the log)'),
  'tcp-connect-refused': at('sosend', 'the host refused the connection (RST to the guest)'),
  'tcp-connect-unreachable': at('sosend', 'the host network or address is unreachable (ICMP to the guest)'),
  'tcp-connect-failed': at('sosend', 'the host connection failed otherwise (RST to the guest)'),
  'tcp-no-free-port': at('soread', 'a hostfwd connection found no free source port'),
  // slirp: toward the guest.
  'arp-unresolved': at('if_output', "frames waiting for the guest's ARP reply, past 32"),
  'ndp-unresolved': at('if_output', "frames waiting for the guest's neighbour advertisement, past 32"),
  'output-error': at('net_slirp_send_packet', 'the net queue refused the frame'),
} as const satisfies Record<string, DropReasonInfo>;

export type DropReason = keyof typeof DROP_REASONS;

export function isDropReason(name: string): name is DropReason {
  return Object.hasOwn(DROP_REASONS, name);
}

/** Whether `reason` is the guest's ordinary traffic rather than a fault (DropReasonInfo.routine). */
export function isRoutineDrop(reason: string): boolean {
  return isDropReason(reason) && (DROP_REASONS[reason] as DropReasonInfo).routine === true;
}

/** The TCP layer's own short names ('bad-checksum', 'connect-ECONNREFUSED') as reasons. */
export function tcpDropReason(name: string): DropReason {
  if (name.startsWith('connect-')) {
    const code = name.slice('connect-'.length);
    if (code === 'ECONNREFUSED') return 'tcp-connect-refused';
    return code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'tcp-connect-unreachable' : 'tcp-connect-failed';
  }
  const reason = name.startsWith('tcp-') ? name : `tcp-${name}`;
  return isDropReason(reason) ? reason : 'tcp-internal-error';
}

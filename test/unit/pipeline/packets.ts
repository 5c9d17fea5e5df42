/** The sample packets shared by the pipeline tests. */
import * as F from './frames';

export const syn = F.ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 6, df: true, ttl: 64, id: 0x4242 },
  F.tcp({ sport: 40000, dport: 8080, seq: 0, flags: F.TCP.SYN, mss: 1460, wscale: 7, window: 64240 }));
export const synAck = F.ipv4Frame({ src: '10.0.2.2', dst: '10.0.2.15', proto: 6 },
  F.tcp({ sport: 8080, dport: 40000, seq: 1000, ack: 1, flags: F.TCP.SYN | F.TCP.ACK, mss: 1460 }));
export const httpGet = F.ipv4Frame({ src: '10.0.2.15', dst: '93.184.216.34', proto: 6 },
  F.tcp({ sport: 40001, dport: 80, seq: 1, ack: 1001, flags: F.TCP.PSH | F.TCP.ACK, payload: [...'GET / HTTP/1.1\r\n'].map((c) => c.charCodeAt(0)) }));
export const rst = F.ipv4Frame({ src: '10.0.2.2', dst: '10.0.2.15', proto: 6 }, F.tcp({ sport: 443, dport: 40002, seq: 5, flags: F.TCP.RST }));
export const arpRequest = F.arp(1, F.GUEST_MAC, '10.0.2.15', '00:00:00:00:00:00', '10.0.2.2');
export const arpReply = F.arp(2, F.GATEWAY_MAC, '10.0.2.2', F.GUEST_MAC, '10.0.2.15');
export const ping = F.ipv4Frame({ src: '10.0.2.15', dst: '8.8.8.8', proto: 1 }, F.icmpEcho(8, 0x77, 3));
export const pong = F.ipv4Frame({ src: '8.8.8.8', dst: '10.0.2.15', proto: 1 }, F.icmpEcho(0, 0x77, 3));
export const udpData = F.ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 17 }, F.udp(5000, 9999, [1, 2, 3]));
export const dhcpDiscover = F.ipv4Frame({ src: '0.0.0.0', dst: '255.255.255.255', proto: 17 },
  F.udp(68, 67, F.dhcp({ type: 1, hostname: 'usernet-guest', requested: '10.0.2.15' })));
export const dhcpOffer = F.ipv4Frame({ src: '10.0.2.2', dst: '255.255.255.255', proto: 17 },
  F.udp(67, 68, F.dhcp({ type: 2, reply: true, yiaddr: '10.0.2.15' })));
export const dnsQuery = F.ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.3', proto: 17 }, F.udp(33333, 53, F.dnsQuery(0xbeef, 'www.example.com')));
export const dnsResponse = F.ipv4Frame({ src: '10.0.2.3', dst: '10.0.2.15', proto: 17 },
  F.udp(53, 33333, F.dnsResponse(0xbeef, 'www.example.com', ['93.184.216.34', '93.184.216.35'])));
export const fragment = F.ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 17, fragOffset: 1480, mf: true }, [9, 9, 9, 9, 9, 9, 9, 9]);
export const LINK_LOCAL = F.v6([0xfe80, 0, 0, 0, 0x5054, 0xff, 0xfe12, 0x3456]);
export const ALL_NODES = F.v6([0xff02, 0, 0, 0, 0, 0, 0, 1]);
export const neighborSolicit = F.ipv6Frame(LINK_LOCAL, ALL_NODES, 58, [135, 0, 0, 0, 0, 0, 0, 0, ...LINK_LOCAL]);
export const ipv6Tcp = F.ipv6Frame(LINK_LOCAL, F.v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]), 6, F.tcp({ sport: 1234, dport: 22, flags: F.TCP.SYN }), 64);
export const vlanPing = F.ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1 }, F.icmpEcho(8, 1, 1), { vlan: 42 });
export const lldp = F.ethernet({ type: 0x88cc, dst: '01:80:c2:00:00:0e' }, [1, 2, 3]);


/**
 * Packets for the pipeline tests, kept out of ALL (the filter and dissector
 * tables list exactly what ALL holds). Replies toward the guest carry slirp's
 * MAC as source.
 */
const toGuest = { dst: F.GUEST_MAC, src: F.GATEWAY_MAC };
export const httpOk = F.ethernet({ type: 0x0800, ...toGuest }, F.ipv4({ src: '93.184.216.34', dst: '10.0.2.15', proto: 6 },
  F.tcp({ sport: 80, dport: 40001, seq: 1001, ack: 17, flags: F.TCP.PSH | F.TCP.ACK, payload: [...'HTTP/1.1 200 OK\r\n'].map((c) => c.charCodeAt(0)) })));
export const udpReply = F.ethernet({ type: 0x0800, ...toGuest }, F.ipv4({ src: '10.0.2.2', dst: '10.0.2.15', proto: 17 }, F.udp(9999, 5000, [4, 5, 6])));
export const pingGateway = F.ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1 }, F.icmpEcho(8, 0x78, 1));
export const pongGateway = F.ethernet({ type: 0x0800, ...toGuest }, F.ipv4({ src: '10.0.2.2', dst: '10.0.2.15', proto: 1 }, F.icmpEcho(0, 0x78, 1)));
export const dnsQueryElsewhere = F.ipv4Frame({ src: '10.0.2.15', dst: '8.8.8.8', proto: 17 }, F.udp(33334, 53, F.dnsQuery(0xcafe, 'www.example.com')));
const TFTP_RRQ = [0, 1, ...[...'pxelinux.0'].map((c) => c.charCodeAt(0)), 0, ...[...'octet'].map((c) => c.charCodeAt(0)), 0];
export const tftpRead = F.ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 17 }, F.udp(2000, 69, TFTP_RRQ));
/** The server's error to a request, from port 69. */
export const tftpError = F.ethernet({ type: 0x0800, ...toGuest }, F.ipv4({ src: '10.0.2.2', dst: '10.0.2.15', proto: 17 }, F.udp(69, 2000, [0, 5, 0, 2, 0x41, 0])));
/** A data block, from the transfer's own port. */
export const tftpData = F.ethernet({ type: 0x0800, ...toGuest }, F.ipv4({ src: '10.0.2.2', dst: '10.0.2.15', proto: 17 }, F.udp(51000, 2000, [0, 3, 0, 1, 9, 9, 9])));

export const ALL: Readonly<Record<string, Uint8Array>> = {
  syn, synAck, httpGet, rst, arpRequest, arpReply, ping, pong, udpData, dhcpDiscover, dhcpOffer, dnsQuery, dnsResponse,
  fragment, neighborSolicit, ipv6Tcp, vlanPing, lldp,
};

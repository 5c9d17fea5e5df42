import { ip4 } from '../../../../extension/slirp/config';
import { arp, DNS_IP, dnsQuery, eth, GUEST_IP, guestDhcp, guestUdp, HOST_IP, icmpEcho, ipv4 } from './frames';

/**
 * Seeds for the slirp fuzz harness (the unit test and bench/fuzz.ts): a frame of
 * each protocol the stack parses. `udpPort` is where the UDP seed goes on the host.
 */
export function fuzzSeeds(udpPort = 9): Uint8Array[] {
  return [
    arp(1, GUEST_IP, HOST_IP),
    arp(2, GUEST_IP, HOST_IP),
    eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 2, Array.from({ length: 32 }, (_, i) => i)) })),
    eth(0x0800, ipv4({ dst: DNS_IP, protocol: 1, payload: icmpEcho(1, 2, []), options: [7, 7, 4, 0, 0, 0, 0, 1] })),
    eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 3, offset: 0, mf: true, payload: icmpEcho(1, 1, new Array(24).fill(1)) })),
    eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 3, offset: 32, mf: false, payload: new Array(16).fill(2) })),
    guestDhcp({ type: 1 }),
    guestDhcp({ type: 3, requested: GUEST_IP, serverId: HOST_IP, extra: [12, 3, 97, 98, 99, 55, 4, 1, 3, 6, 119] }),
    guestDhcp({ type: 8, ciaddr: GUEST_IP }),
    guestDhcp({ type: 7, ciaddr: GUEST_IP }),
    guestUdp(DNS_IP, 5000, 53, dnsQuery('www.example.test')),
    guestUdp(DNS_IP, 5001, 53, [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 0xc0, 12, 0, 1, 0, 1]),
    guestUdp(HOST_IP, 6000, udpPort, [1, 2, 3]),
    guestUdp(ip4(10, 0, 2, 255), 6000, 9, [1]),
  ];
}

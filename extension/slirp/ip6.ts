import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import { ETH_HEADER_LENGTH } from '../wire/ethernet';
import { IPV4_MIN_HEADER } from '../wire/ipv4';
import { IPV6_HEADER_LENGTH } from '../wire/ipv6';
import { formatIpv6, ipv6Equal, ipv6InPrefix, ipv6WithInterfaceId, isIpv6LinkLocal, linkLocalFromMac, parseIpv6 } from '../wire/ipv6-address';
import type { SlirpConfig } from './config';
import { allocateFrame } from './core';
import type { DropCounter } from './drops';
import type { NatSession } from './nat';

/** Where a transport header starts in an IPv6 frame the stack builds for the guest. */
export const TRANSPORT6_OFFSET = ETH_HEADER_LENGTH + IPV6_HEADER_LENGTH;

/** A zeroed frame with room for Ethernet and IPv6 headers before `payloadLength` transport bytes. */
export function allocateFrame6(payloadLength: number): Uint8Array {
  return allocateFrame(payloadLength + IPV6_HEADER_LENGTH - IPV4_MIN_HEADER);
}

/**
 * The virtual IPv6 network of libslirp (ip6.h): a prefix (fec0::/64), the
 * gateway (fec0::2) and the DNS (fec0::3), each also reachable at the link-local
 * address with the same interface id (fe80::2, fe80::3), and each answering
 * with a MAC of its own: 52:56 and the address's last four bytes.
 */
export class Ip6Addresses {
  readonly prefix: Uint8Array;
  readonly prefixLength: number;
  readonly host: Uint8Array;
  readonly dns: Uint8Array;
  /** fe80::2: the source of router advertisements, the guest's default router. */
  readonly linkLocalHost: Uint8Array;
  readonly linkLocalDns: Uint8Array;

  constructor(config: SlirpConfig) {
    this.prefix = parseIpv6(config.ipv6Net) ?? new Uint8Array(16);
    this.prefixLength = config.ipv6PrefixLength;
    this.host = parseIpv6(config.ipv6Host) ?? new Uint8Array(16);
    this.dns = parseIpv6(config.ipv6Dns) ?? new Uint8Array(16);
    const linkLocal = parseIpv6('fe80::')!;
    this.linkLocalHost = ipv6WithInterfaceId(linkLocal, 64, this.host);
    this.linkLocalDns = ipv6WithInterfaceId(linkLocal, 64, this.dns);
  }

  /** in6_equal_router: the gateway, by its address in the prefix or its link-local one. */
  isHost(a: Uint8Array): boolean {
    return ipv6Equal(a, this.host) || ipv6Equal(a, this.linkLocalHost);
  }

  isDns(a: Uint8Array): boolean {
    return ipv6Equal(a, this.dns) || ipv6Equal(a, this.linkLocalDns);
  }

  /** in6_equal_host: the addresses the stack itself answers for. */
  isOwn(a: Uint8Array): boolean {
    return this.isHost(a) || this.isDns(a);
  }

  inPrefix(a: Uint8Array): boolean {
    return ipv6InPrefix(a, this.prefix, this.prefixLength);
  }

  /** Addresses a guest may speak from: in the prefix or link-local. */
  onLink(a: Uint8Array): boolean {
    return this.inPrefix(a) || isIpv6LinkLocal(a);
  }

  /** The address SLAAC gives a guest with this MAC: the prefix and the modified EUI-64 (RFC 4862). */
  slaacAddress(mac: Uint8Array): Uint8Array {
    return ipv6WithInterfaceId(this.prefix, this.prefixLength, linkLocalFromMac(mac));
  }
}

/** in6_compute_ethaddr: the MAC a virtual IPv6 address answers with. */
export function virtualMac6(addr: Uint8Array): Uint8Array {
  const mac = new Uint8Array(6);
  mac[0] = 0x52;
  mac[1] = 0x56;
  mac.set(addr.subarray(12, 16), 2);
  return mac;
}

/** What the IPv6 modules (ip6_input, icmp6, udp6, dhcpv6) share. */
export interface Ip6Core {
  readonly config: SlirpConfig;
  readonly clock: Clock;
  readonly probes: ProbeHub;
  readonly dropCounter: DropCounter;
  readonly addresses: Ip6Addresses;
  log(message: string): void;
  /**
   * ip6_output: `frame` came from allocateFrame6 and holds the transport
   * header and data from TRANSPORT6_OFFSET; the IPv6 and Ethernet headers are
   * written here (fragmenting what the guest's link cannot take whole).
   */
  ip6Output(frame: Uint8Array, src: Uint8Array, dst: Uint8Array, nextHeader: number, session?: NatSession): void;
  /** icmp6_send_error: tells the guest that `datagram` (an IPv6 datagram it sent) failed. */
  sendError(datagram: Uint8Array, type: number, code: number, word?: number): void;
  /** The guest's global address: the one it used last, else what SLAAC gives its MAC. */
  readonly guestAddress: Uint8Array;
  /** Runs `fn` so that an exception drops the frame (counted) instead of escaping. */
  safely(fn: () => void): void;
}

/** Distinct IPv6 addresses that may get a handle before new ones are refused (a bound on the table). */
export const MAX_IPV6_HANDLES = 4096;

/**
 * Numbers standing for IPv6 addresses, for the layers written for IPv4's
 * 32-bit addresses (the TCP stack, the TFTP server): each address gets the
 * next small number on first sight, and keeps it.
 */
export class Ipv6Handles {
  private readonly byText = new Map<string, number>();
  private readonly addresses: Uint8Array[] = [new Uint8Array(16)];

  /** The handle of an address, made on first sight; undefined once the table is full. */
  handleOf(addr: Uint8Array): number | undefined {
    const key = formatIpv6(addr);
    let h = this.byText.get(key);
    if (h === undefined) {
      if (this.addresses.length > MAX_IPV6_HANDLES) return undefined;
      h = this.addresses.length;
      this.addresses.push(addr.slice(0, 16));
      this.byText.set(key, h);
    }
    return h;
  }

  addressOf(handle: number): Uint8Array | undefined {
    return handle > 0 ? this.addresses[handle] : undefined;
  }
}

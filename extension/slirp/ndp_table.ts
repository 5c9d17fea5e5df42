import { formatIpv6, isIpv6Multicast, isIpv6Unspecified } from '../wire/ipv6-address';

/** libslirp's NDP_TABLE_SIZE: a guest network has one guest, with a link-local and a global address or two. */
export const NDP_TABLE_SIZE = 16;

/**
 * IPv6 -> MAC of the guest side (libslirp's ndp_table), learned from the
 * guest's neighbour discovery. Multicast and unspecified addresses are never
 * entered, nor multicast MACs, nor the addresses the stack itself answers for
 * (`own`): a guest advertising the gateway's address must not capture it.
 * When full, the oldest entry makes room.
 */
export class NdpTable {
  private entries = new Map<string, Uint8Array>();

  constructor(private readonly own: (ip: Uint8Array) => boolean) {}

  /** True when the mapping is new or changed (frames waiting for it can go). */
  learn(ip: Uint8Array, mac: Uint8Array): boolean {
    if (isIpv6Multicast(ip) || isIpv6Unspecified(ip) || (mac[0]! & 1) !== 0 || this.own(ip)) return false;
    const key = formatIpv6(ip);
    const known = this.entries.get(key);
    if (known && known.every((b, i) => b === mac[i])) return false;
    this.entries.delete(key);
    if (this.entries.size >= NDP_TABLE_SIZE) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, mac.slice(0, 6));
    return true;
  }

  lookup(ip: Uint8Array): Uint8Array | undefined {
    return this.entries.get(formatIpv6(ip));
  }

  /** The learned addresses, oldest first. */
  addresses(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }
}

import type { SlirpConfig } from './config';

/** The guest network's IPv4 address plan (net=, host=, dns=, guestfwd servers): which address is what. */
export class GuestNetwork {
  readonly mask: number;
  /** The directed broadcast address of the guest network. */
  readonly broadcast: number;

  constructor(private readonly config: SlirpConfig) {
    this.mask = config.prefixLength === 0 ? 0 : (0xffffffff << (32 - config.prefixLength)) >>> 0;
    this.broadcast = (config.net | ~this.mask) >>> 0;
  }

  inNet(ip: number): boolean {
    return ((ip & this.mask) >>> 0) === this.config.net;
  }

  isBroadcastOrMulticast(ip: number): boolean {
    return ip === 0xffffffff || ip === this.broadcast || ip >= 0xe0000000;
  }

  /** Addresses the stack answers ARP for: the gateway, the DNS and every guestfwd server. */
  servesAddress(ip: number): boolean {
    return ip === this.config.host || ip === this.config.dns || this.config.guestForwards.some((g) => g.serverAddr === ip);
  }
}

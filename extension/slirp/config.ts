/**
 * The configuration of one slirp instance, with QEMU's `-netdev user` defaults.
 * Addresses are IPv4 in host byte order as unsigned 32-bit numbers.
 * The parser of QEMU's option syntax lives in netdev-options.ts.
 */
export interface HostForward {
  readonly protocol: 'tcp' | 'udp';
  /** Host address to bind; '' in QEMU syntax means loopback here (QEMU binds all). */
  readonly hostAddr: string;
  readonly hostPort: number;
  /** Guest address; 0 means the first DHCP address (dhcpstart), as QEMU does. */
  readonly guestAddr: number;
  /** An IPv6 guest address (`hostfwd=tcp::2222-[fec0::15]:22`), instead of guestAddr. */
  readonly guestAddr6?: string;
  readonly guestPort: number;
}

export interface GuestForward {
  readonly protocol: 'tcp';
  /** The virtual server address and port the guest connects to. */
  readonly serverAddr: number;
  readonly serverPort: number;
  /** Where it goes on the host: a TCP endpoint or a command whose stdio is the stream. */
  readonly target: { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'cmd'; readonly command: string };
}

export interface SlirpConfig {
  readonly id: string;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly net: number;
  readonly prefixLength: number;
  readonly host: number;
  readonly dhcpStart: number;
  readonly dns: number;
  readonly restrict: boolean;
  readonly hostname?: string;
  readonly domainName?: string;
  readonly dnsSearch: readonly string[];
  readonly ipv6Net: string;
  readonly ipv6PrefixLength: number;
  readonly ipv6Host: string;
  readonly ipv6Dns: string;
  readonly tftpRoot?: string;
  readonly tftpServerName?: string;
  readonly bootFile?: string;
  readonly hostForwards: readonly HostForward[];
  readonly guestForwards: readonly GuestForward[];
  /** 10.0.2.2 reaches host loopback unless this is set (libslirp's disable_host_loopback). */
  readonly disableHostLoopback: boolean;
  /** Upstream DNS server "addr[:port]"; when unset, the first nameserver of /etc/resolv.conf. */
  readonly dnsUpstream?: string;
  /** MAC of the gateway as libslirp uses it (52:55:0a:00:02:02). */
  readonly gatewayMac: Uint8Array;
  /**
   * The guest link's MTU, offered by DHCP (option 26) when it is not 1500. The
   * link is virtual, so nothing on it needs Ethernet's 1500: a jumbo MTU cuts
   * the frames, interrupts and ACKs per byte for the guest (passt does the same).
   * A guest that keeps 1500 still works: TCP segments follow the MSS the guest
   * announces and other datagrams are fragmented to 1500. 1500 (libslirp's
   * lease) unless `mtu=` says otherwise; the bundled guest gets JUMBO_MTU
   * (see forBundledGuest).
   */
  readonly mtu: number;
  /** Whether `mtu=` was given: then the MTU is the user's, whatever the guest. */
  readonly mtuGiven?: boolean;
  /** Options accepted for QEMU compatibility that this stack does not implement (e.g. 'smb'). */
  readonly unsupportedOptions?: readonly string[];
}

/** Ethernet's MTU: what every guest takes, whatever it did with the DHCP lease; libslirp's link. */
export const ETHERNET_MTU = 1500;
/** The bundled guest's link: the common jumbo size every e1000-family NIC (and virtio) accepts. */
export const JUMBO_MTU = 9000;
/** The `mtu=` range: from the IPv4 datagram size every host must accept up to passt's largest. */
export const MIN_GUEST_MTU = 576;
export const MAX_GUEST_MTU = 65520;

export const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

export const DEFAULT_SLIRP_CONFIG: SlirpConfig = {
  id: 'user.0',
  ipv4: true,
  ipv6: true,
  net: ip4(10, 0, 2, 0),
  prefixLength: 24,
  host: ip4(10, 0, 2, 2),
  dhcpStart: ip4(10, 0, 2, 15),
  dns: ip4(10, 0, 2, 3),
  restrict: false,
  dnsSearch: [],
  ipv6Net: 'fec0::',
  ipv6PrefixLength: 64,
  ipv6Host: 'fec0::2',
  ipv6Dns: 'fec0::3',
  hostForwards: [],
  guestForwards: [],
  disableHostLoopback: false,
  mtu: ETHERNET_MTU,
  gatewayMac: new Uint8Array([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]),
};

/**
 * The bundled guest's link: jumbo unless `mtu=` chose. Only the bundled guest
 * gets it by default because it applies the lease's MTU with its link down
 * (its udhcpc script); a guest that changes the MTU of a running e1000 (a
 * Debian 12 image's dhclient) resets the NIC once at boot, a network outage
 * right when its boot services use the network. So other guests get
 * libslirp's lease.
 */
export function forBundledGuest(config: SlirpConfig): SlirpConfig {
  return config.mtuGiven ? config : { ...config, mtu: JUMBO_MTU };
}

import { ETHERNET_MTU, type SlirpConfig } from './config';
import { formatMac } from '../wire/address';
import { get32 } from '../wire/bytes';
import {
  BootpView,
  BOOTP_REPLY,
  BOOTP_REQUEST,
  DhcpMessageType,
  DhcpOption,
  DhcpOptionWriter,
  DHCP_OPTIONS_OFFSET,
  parseDhcpOptions,
} from '../wire/dhcp';
import { encodeDomainSearch } from '../wire/dns';

/** libslirp's NB_BOOTP_CLIENTS and LEASE_TIME. */
export const DHCP_LEASE_COUNT = 16;
export const DHCP_LEASE_SECONDS = 86400;
const BROADCAST = 0xffffffff;

interface Lease {
  readonly address: number;
  mac?: string;
  expiresAt: number;
}

/** A reply for the guest: the BOOTP message and where it goes. */
export interface DhcpReply {
  readonly message: Uint8Array;
  readonly dst: number;
  /** Ethernet destination; undefined means the broadcast address. */
  readonly dstMac?: Uint8Array;
  readonly type: number;
}

/**
 * The DHCP server of 10.0.2.2 (bootp.c): 16 leases from dhcpstart keyed by the
 * client's MAC, 24 h each. Replies go to the IP broadcast address as libslirp
 * sends them (an unconfigured client cannot receive unicast), except INFORM,
 * whose client already has an address.
 */
export class DhcpServer {
  private readonly leases: Lease[] = [];
  private lastAcked: number | undefined;

  constructor(private readonly config: SlirpConfig, private readonly now: () => number) {
    const mask = config.prefixLength === 0 ? 0 : (0xffffffff << (32 - config.prefixLength)) >>> 0;
    const broadcast = (config.net | ~mask) >>> 0;
    for (let i = 0; i < DHCP_LEASE_COUNT; i++) {
      const address = (config.dhcpStart + i) >>> 0;
      if (address >= broadcast) break;
      if (address === config.host || address === config.dns) continue;
      this.leases.push({ address, expiresAt: 0 });
    }
  }

  /** The most recently acknowledged address, if any. */
  get acknowledgedAddress(): number | undefined {
    return this.lastAcked;
  }

  /** Leases bound to a MAC and not expired. */
  get activeLeases(): ReadonlyArray<{ address: number; mac: string; expiresAt: number }> {
    return this.leases.filter((l) => this.isActive(l)).map((l) => ({ address: l.address, mac: l.mac!, expiresAt: l.expiresAt }));
  }

  /** bootp_input: `message` is the UDP payload. Returns the reply, null (nothing to send) or the drop reason. */
  handle(message: Uint8Array): DhcpReply | null | string {
    const bootp = BootpView.check(message);
    if (typeof bootp === 'string') return bootp;
    if (bootp.op !== BOOTP_REQUEST) return 'dhcp-not-request';
    if (bootp.htype !== 1 || bootp.hlen !== 6) return 'dhcp-bad-hardware';
    const options = parseDhcpOptions(bootp.options);
    if (typeof options === 'string') return options;
    const typeOpt = options.get(DhcpOption.MESSAGE_TYPE);
    if (!typeOpt || typeOpt.length !== 1) return 'dhcp-no-message-type';
    const mac = formatMac(bootp.chaddr);
    const requestedOpt = options.get(DhcpOption.REQUESTED_ADDRESS);
    if (requestedOpt && requestedOpt.length !== 4) return 'dhcp-bad-option';
    const requested = requestedOpt ? get32(requestedOpt, 0) : 0;
    const serverIdOpt = options.get(DhcpOption.SERVER_ID);
    if (serverIdOpt && (serverIdOpt.length !== 4 || get32(serverIdOpt, 0) !== this.config.host)) return 'dhcp-other-server';

    switch (typeOpt[0]) {
      case DhcpMessageType.DISCOVER: {
        const lease = this.leaseOf(mac) ?? this.freeLease(requested) ?? this.freeLease(0);
        if (!lease) return 'dhcp-no-free-lease';
        this.bind(lease, mac);
        return this.reply(bootp, DhcpMessageType.OFFER, lease.address);
      }
      case DhcpMessageType.REQUEST: {
        const wanted = requested || bootp.ciaddr;
        const own = this.leaseOf(mac);
        const lease = this.leases.find((l) => l.address === wanted);
        const ok = lease && (own ? own === lease : !this.isActive(lease));
        if (!ok) return this.reply(bootp, DhcpMessageType.NAK, 0);
        this.bind(lease, mac);
        this.lastAcked = lease.address;
        return this.reply(bootp, DhcpMessageType.ACK, lease.address);
      }
      case DhcpMessageType.RELEASE: {
        const own = this.leaseOf(mac);
        if (own && own.address === bootp.ciaddr) {
          own.mac = undefined;
          own.expiresAt = 0;
          if (this.lastAcked === own.address) this.lastAcked = undefined;
        }
        return null;
      }
      case DhcpMessageType.INFORM:
        if (bootp.ciaddr === 0) return 'dhcp-inform-without-address';
        return this.reply(bootp, DhcpMessageType.ACK, 0, true);
      case DhcpMessageType.DECLINE:
        return null;
      default:
        return 'dhcp-bad-message-type';
    }
  }

  private isActive(l: Lease): boolean {
    return l.mac !== undefined && l.expiresAt > this.now();
  }

  private leaseOf(mac: string): Lease | undefined {
    return this.leases.find((l) => l.mac === mac && this.isActive(l));
  }

  private freeLease(wanted: number): Lease | undefined {
    return this.leases.find((l) => (wanted === 0 || l.address === wanted) && !this.isActive(l));
  }

  private bind(lease: Lease, mac: string): void {
    lease.mac = mac;
    lease.expiresAt = this.now() + DHCP_LEASE_SECONDS * 1000;
  }

  private reply(req: BootpView, type: number, yiaddr: number, inform = false): DhcpReply {
    const c = this.config;
    const enc = new TextEncoder();
    const search = c.dnsSearch.length ? encodeDomainSearch(c.dnsSearch) : undefined;
    const variable =
      (c.hostname ? enc.encode(c.hostname).length : 0) +
      (c.domainName ? enc.encode(c.domainName).length : 0) +
      (search ? search.length + 2 * Math.ceil(search.length / 255) : 0) +
      (c.tftpServerName ? enc.encode(c.tftpServerName).length : 0) +
      (c.bootFile ? enc.encode(c.bootFile).length : 0);
    // 308 option bytes make the classic 548-byte BOOTP message; grow only for long names.
    const message = new Uint8Array(DHCP_OPTIONS_OFFSET + Math.max(308, 64 + variable + 16));
    const out = BootpView.wrap(message);
    out.op = BOOTP_REPLY;
    out.htype = 1;
    out.hlen = 6;
    out.xid = req.xid;
    out.flags = req.flags;
    out.ciaddr = inform ? req.ciaddr : 0;
    out.yiaddr = yiaddr;
    out.siaddr = type === DhcpMessageType.NAK ? 0 : c.host;
    out.giaddr = req.giaddr;
    out.chaddr.set(req.chaddr);
    if (c.bootFile && type !== DhcpMessageType.NAK) out.file.set(enc.encode(c.bootFile).subarray(0, 127));

    const w = new DhcpOptionWriter(out.options);
    w.putByte(DhcpOption.MESSAGE_TYPE, type);
    w.putU32(DhcpOption.SERVER_ID, c.host);
    if (type !== DhcpMessageType.NAK) {
      const mask = c.prefixLength === 0 ? 0 : (0xffffffff << (32 - c.prefixLength)) >>> 0;
      w.putU32(DhcpOption.SUBNET_MASK, mask);
      // A restricted guest reaches nothing beyond the host's own services: libslirp's lease then names no router and no DNS.
      if (!c.restrict) {
        w.putU32(DhcpOption.ROUTER, c.host);
        w.putU32(DhcpOption.DNS, c.dns);
      }
      if (!inform) w.putU32(DhcpOption.LEASE_TIME, DHCP_LEASE_SECONDS);
      // libslirp sends no MTU option: with mtu=1500 the lease is exactly libslirp's.
      if (c.mtu !== ETHERNET_MTU) w.putU16(DhcpOption.INTERFACE_MTU, c.mtu);
      if (c.hostname) w.putText(DhcpOption.HOSTNAME, c.hostname);
      if (c.domainName) w.putText(DhcpOption.DOMAIN_NAME, c.domainName);
      if (search) w.put(DhcpOption.DOMAIN_SEARCH, search);
      if (c.tftpServerName) w.putText(DhcpOption.TFTP_SERVER_NAME, c.tftpServerName);
      if (c.bootFile) w.putText(DhcpOption.BOOTFILE_NAME, c.bootFile);
    } else {
      w.putText(DhcpOption.MESSAGE, 'requested address not available');
    }
    w.end();
    const length = Math.max(300, DHCP_OPTIONS_OFFSET + w.length);
    const trimmed = message.subarray(0, Math.min(message.length, length));
    if (inform) return { message: trimmed, dst: req.ciaddr, dstMac: req.chaddr.subarray(0, 6), type };
    return { message: trimmed, dst: BROADCAST, type };
  }
}

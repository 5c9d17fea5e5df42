/**
 * The stages a packet crossed to reach a stop, derived from the stop alone:
 * the pipeline is a tree whose order is fixed, so a packet's way to a stage
 * is known from the stage and a few header fields. Nothing has to follow
 * packets upstream of a breakpoint (arming those stages would make their
 * probe sites do work for every packet), and the call stack costs something
 * only when a stop is shown.
 */
import { ETHERTYPE_ARP } from '../wire/ethernet';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4';
import { IPPROTO_ICMPV6 } from '../wire/ipv6';
import { DHCPV6_SERVER_PORT } from '../wire/dhcpv6';
import { DHCP_SERVER_PORT, DNS_PORT, TFTP_PORT } from '../wire/ports';
import { lookupField, PacketView, type FieldDef } from './dissect';
import type { ProbeHit } from './probe';
import { stageRunsUnder, type EngineKind, type StageName } from './stages';

/**
 * The addresses the built-in servers answer on (host byte order): they tell DNS
 * queries from other UDP. Named as in the slirp's configuration (host=, dns=),
 * so that configuration is passed as it is.
 */
export interface GuestNetworkAddresses {
  /** The gateway, where DHCP and TFTP are served (10.0.2.2 by default). */
  readonly host: number;
  /** The DNS address, forwarded to the host's resolver (10.0.2.3 by default). */
  readonly dns: number;
}

export const DEFAULT_GUEST_NETWORK: GuestNetworkAddresses = { host: 0x0a000202, dns: 0x0a000203 };


/**
 * Which stages can come right before each one; none means a packet's chain
 * starts there. A transmit starts at the register write that moved TDT (or
 * enabled TCTL), as in QEMU's backtrace of a sent frame: e1000_mmio_write ->
 * start_xmit -> ... The access itself (address_space_rw) and set_ics belong
 * to no packet's chain. Where a stage has several possible parents, or may
 * start a chain, the packet decides (parentOf).
 */
export const STAGE_PARENTS: Readonly<Record<StageName, readonly StageName[]>> = {
  address_space_rw: [],
  e1000_mmio_write: [],
  start_xmit: ['e1000_mmio_write'],
  process_tx_desc: ['start_xmit'],
  e1000_send_packet: ['process_tx_desc'],
  qemu_send_packet: ['e1000_send_packet'],
  net_slirp_receive: ['qemu_send_packet'],
  slirp_input: ['net_slirp_receive'],
  arp_input: ['slirp_input'],
  ip_input: ['slirp_input'],
  ip6_input: ['slirp_input'],
  tcp_input: ['ip_input', 'ip6_input'],
  udp_input: ['ip_input'],
  udp6_input: ['ip6_input'],
  icmp_input: ['ip_input'],
  icmp6_input: ['ip6_input'],
  ndp_input: ['icmp6_input'],
  bootp_input: ['udp_input'],
  dhcpv6_input: ['udp6_input'],
  tftp_input: ['udp_input', 'udp6_input'],
  dns_input: ['udp_input', 'udp6_input'],
  sosend: ['tcp_input'],
  sosendto: ['udp_input', 'icmp_input', 'dns_input', 'udp6_input', 'icmp6_input'],
  soread: [],
  sorecvfrom: [],
  // Only a segment carrying bytes read from the host follows soread: ACKs, SYN-ACKs and RSTs are the stack's own.
  tcp_output: ['soread'],
  // DHCP and TFTP replies are made by the built-in servers, not read from a socket.
  udp_output: ['sorecvfrom'],
  udp6_output: ['sorecvfrom'],
  // A host's echo reply read from a ping socket follows sorecvfrom; the stack's
  // own answers to icmp_input (the guest's direction) and its errors (socket
  // failures, ip_input) have no stage of this direction before them.
  icmp_reflect: ['sorecvfrom'],
  // The same holds for ICMPv6, and neighbour discovery is the stack's own.
  icmp6_send_echoreply: ['sorecvfrom'],
  icmp6_send_error: [],
  ndp_send_ra: [],
  ndp_send_na: [],
  ndp_send_ns: [],
  ip_output: ['tcp_output', 'udp_output', 'icmp_reflect'],
  ip6_output: ['tcp_output', 'udp6_output', 'icmp6_send_echoreply', 'icmp6_send_error', 'ndp_send_ra', 'ndp_send_na', 'ndp_send_ns'],
  if_output: ['ip_output', 'ip6_output'],
  // slirp's own ARP replies and requests start here.
  net_slirp_send_packet: ['if_output'],
  qemu_receive_packet: ['net_slirp_send_packet'],
  e1000_receive_iov: ['qemu_receive_packet'],
  set_ics: [],
};

/**
 * RX stages whose probe reports the NAT session of the flow: a UDP datagram
 * there without one was made by a built-in server (DHCP, TFTP), not read from
 * a host socket. Their frames before ip_output hold no IP header yet, so the
 * session is the only clue at udp_output.
 */
const SESSION_REPORTING: ReadonlySet<StageName> = new Set<StageName>(['udp_output', 'ip_output', 'if_output', 'net_slirp_send_packet']);

const field = (name: string): FieldDef => {
  const def = lookupField(name);
  if (!def) throw new Error(`no field ${name}`);
  return def;
};
const IP_PROTO = field('ip.proto');
const IP_SRC = field('ip.src');
const IP_DST = field('ip.dst');
const UDP_SRCPORT = field('udp.srcport');
const UDP_DSTPORT = field('udp.dstport');
const TCP_LEN = field('tcp.len');
const IPV6_NXT = field('ipv6.nxt');
const ICMPV6_TYPE = field('icmpv6.type');
/** The stage that made an ICMPv6 message for the guest, by its type (the stack sends no others). */
const ICMPV6_MAKERS: Readonly<Record<number, StageName>> = { 129: 'icmp6_send_echoreply', 134: 'ndp_send_ra', 135: 'ndp_send_ns', 136: 'ndp_send_na' };

/** What the path depends on: the stop, and header fields read through the dissector on first use. */
class PacketFacts {
  private view: PacketView | undefined;

  constructor(readonly stopStage: StageName, readonly hit: ProbeHit, readonly network: GuestNetworkAddresses) {}

  get(def: FieldDef): number | undefined {
    this.view ??= new PacketView(this.hit.frame, this.hit).layers();
    const value = def.get(this.view);
    return typeof value === 'number' ? value : undefined;
  }

  /** An IPv6 frame: its network-layer stages are the ip6_* ones. */
  get isIpv6(): boolean {
    return this.get(IPV6_NXT) !== undefined;
  }

  get isArp(): boolean {
    this.view ??= new PacketView(this.hit.frame, this.hit).layers();
    return this.view.etherType === ETHERTYPE_ARP;
  }
}

/** The stage right before `stage` on this packet's way, or undefined where its chain starts. */
function parentOf(stage: StageName, facts: PacketFacts): StageName | undefined {
  const { hit, network } = facts;
  switch (stage) {
    case 'sosendto': {
      if (facts.isIpv6) return facts.get(IPV6_NXT) === IPPROTO_ICMPV6 ? 'icmp6_input' : facts.get(UDP_DSTPORT) === DNS_PORT ? 'dns_input' : 'udp6_input';
      // The guest's frame is shown at sosendto; the session says ICMP when it is not.
      const proto = facts.get(IP_PROTO) ?? (hit.session?.protocol === 'icmp' ? IPPROTO_ICMP : IPPROTO_UDP);
      if (proto === IPPROTO_ICMP) return 'icmp_input';
      return facts.get(UDP_DSTPORT) === DNS_PORT && facts.get(IP_DST) === network.dns ? 'dns_input' : 'udp_input';
    }
    case 'tcp_input':
      return facts.isIpv6 ? 'ip6_input' : 'ip_input';
    case 'dns_input':
    case 'tftp_input':
      return facts.isIpv6 ? 'udp6_input' : 'udp_input';
    case 'ip6_output': {
      const nxt = facts.get(IPV6_NXT);
      if (nxt === IPPROTO_TCP) return 'tcp_output';
      if (nxt === IPPROTO_UDP) return madeByBuiltinServer(facts) ? undefined : 'udp6_output';
      const type = facts.get(ICMPV6_TYPE);
      return type === undefined ? undefined : type < 128 ? 'icmp6_send_error' : ICMPV6_MAKERS[type];
    }
    case 'if_output':
      return facts.isIpv6 ? 'ip6_output' : 'ip_output';
    case 'tcp_output':
      return (facts.get(TCP_LEN) ?? 0) > 0 ? 'soread' : undefined;
    case 'udp_output':
      return madeByBuiltinServer(facts) ? undefined : 'sorecvfrom';
    case 'icmp_reflect':
    case 'icmp6_send_echoreply':
      // Only a reply relayed from a host ping socket carries its echo flow.
      return hit.session ? 'sorecvfrom' : undefined;
    case 'ip_output':
      switch (facts.get(IP_PROTO)) {
        case IPPROTO_TCP: return 'tcp_output';
        case IPPROTO_UDP: return 'udp_output';
        case IPPROTO_ICMP: return 'icmp_reflect';
        default: return undefined;
      }
    case 'net_slirp_send_packet':
      return facts.isArp ? undefined : 'if_output';
    default:
      return STAGE_PARENTS[stage][0];
  }
}

/** A UDP datagram toward the guest from the DHCP server (port 67) or the TFTP server (the gateway's port 69). */
function madeByBuiltinServer(facts: PacketFacts): boolean {
  const sport = facts.get(UDP_SRCPORT);
  if (sport === DHCP_SERVER_PORT || sport === DHCPV6_SERVER_PORT || (sport === TFTP_PORT && facts.get(IP_SRC) === facts.network.host)) return true;
  return SESSION_REPORTING.has(facts.stopStage) && facts.hit.session === undefined;
}

export interface StagePathOptions {
  /** Only stages this engine runs are in a chain (default embedded: all of them). */
  readonly engine?: EngineKind;
  /** The slirp's host= and dns= (default 10.0.2.2 and 10.0.2.3): a non-default net= moves them. */
  readonly network?: GuestNetworkAddresses;
}

/**
 * The stages the packet of `hit` crossed in its direction to reach `stage`,
 * oldest first, ending with `stage` (always there, even when the engine does
 * not run it). Allocates: meant for a stop, not for every packet.
 */
export function stagePath(stage: StageName, hit: ProbeHit, options: StagePathOptions = {}): StageName[] {
  const engine = options.engine ?? 'embedded';
  const facts = new PacketFacts(stage, hit, options.network ?? DEFAULT_GUEST_NETWORK);
  const path: StageName[] = [stage];
  for (let s = parentOf(stage, facts); s !== undefined; s = parentOf(s, facts)) {
    if (stageRunsUnder(engine, s)) path.push(s);
  }
  return path.reverse();
}

/**
 * The stages a packet really crossed to reach a stop, as the pipeline routed
 * it: every probe's enter() writes its stage's number into one small ring
 * (ProbeHub.trail), counters being always on, and a stop replays the last
 * entries to rebuild its packet's route. Nothing is derived from the packet's
 * headers or the network's configuration: a DNS query answered or forwarded,
 * a datagram for a guestfwd, a reply made by a built-in server each show the
 * stages slirp ran for them.
 */
import { STAGE_BY_NAME, STAGES, type StageName } from './stages';

/**
 * Which stages can come right before each one; none means a packet's route
 * starts there. A transmit starts at the register write that moved TDT (or
 * enabled TCTL), as in QEMU's backtrace of a sent frame: e1000_mmio_write ->
 * start_xmit -> ... The access itself (address_space_rw) and set_ics belong
 * to no packet's route.
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
  // What the stack sends on its own (ACKs, built-in servers' replies, its
  // answers to a ping) follows a stage of the guest's direction or the end
  // of a read (ProbeHub.endRoute), either ending the route of the host's:
  // only what a socket read leads to follows it.
  tcp_output: ['soread'],
  udp_output: ['sorecvfrom'],
  udp6_output: ['sorecvfrom'],
  icmp_reflect: ['sorecvfrom'],
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

/** A stage's number in the trail (its index in STAGES). */
export const STAGE_NUMBER: ReadonlyMap<StageName, number> = new Map(STAGES.map((s, i) => [s.name, i]));

/** Entries the trail keeps: far more than the longest route and the stages another direction may interleave. */
export const TRAIL_LENGTH = 256;

/**
 * Every stage that may come before each one, however far up (a parent the
 * engine does not run, e.g. QEMU's own NIC stages, is then skipped over).
 */
const ANCESTORS: readonly ReadonlySet<number>[] = STAGES.map((s) => {
  const found = new Set<number>();
  const visit = (name: StageName): void => {
    for (const p of STAGE_PARENTS[name]) {
      const n = STAGE_NUMBER.get(p)!;
      if (!found.has(n)) {
        found.add(n);
        visit(p);
      }
    }
  };
  visit(s.name);
  return found;
});
const IS_TX: readonly boolean[] = STAGES.map((s) => s.direction === 'tx');
/** Stages in no packet's route: the register access and the interrupt. */
const OUTSIDE: ReadonlySet<number> = new Set(['address_space_rw', 'set_ics'].map((n) => STAGE_NUMBER.get(n as StageName)!));

/** Noted in the trail when what a socket read led to is done (ProbeHub.endRoute). */
export const ROUTE_END = 255;

/**
 * A route kept to be taken up again later (ProbeHub.resumeRoute): its stages'
 * numbers, oldest first. A frame that waited for the guest's ARP reply, or the
 * tail of a host read that leaves at the end of the turn, goes on from the
 * route that made it rather than from whatever ran in between.
 */
export type RouteMark = Uint8Array;

/** The route that has reached `stage` now, kept (allocates: for the rare waits, never per packet). */
export function markRoute(trail: StageTrail, stage: StageName): RouteMark {
  return Uint8Array.from(routeTo(trail, stage), (name) => STAGE_NUMBER.get(name)!);
}

/** A route of the given stages. */
export function routeOf(...stages: StageName[]): RouteMark {
  return Uint8Array.from(stages, (name) => STAGE_NUMBER.get(name)!);
}

/** A host stream read's route: the bytes a TCP connection holds back to the end of the turn leave on it. */
export const SOREAD_ROUTE: RouteMark = routeOf('soread');

/** The ring every probe's enter() writes into. */
export class StageTrail {
  readonly stages = new Uint8Array(TRAIL_LENGTH);
  /** Entries written so far (the next one goes at `at % TRAIL_LENGTH`). */
  at = 0;
}

/** Where `stage` goes in `route`: after its latest ancestor there (cutting what followed), else it starts a route. */
function extend(route: number[], stage: number): void {
  const ancestors = ANCESTORS[stage]!;
  let i = route.length - 1;
  while (i >= 0 && !ancestors.has(route[i]!)) i--;
  route.length = i + 1;
  route.push(stage);
}

/**
 * The route of the packet at `stage`, oldest first, ending with `stage`:
 * the trail replayed for its direction. A stage of the guest's direction ends
 * the route of the host's (what the stack then sends is its own answer), not
 * the other way round (a transmit's route goes on past the ACKs it makes); so
 * does the end of what a socket read led to (a later bare ACK is no part of it).
 */
export function routeTo(trail: StageTrail, stage: StageName): StageName[] {
  const tx = STAGE_BY_NAME.get(stage)!.direction === 'tx';
  const route: number[] = [];
  for (let at = Math.max(0, trail.at - TRAIL_LENGTH); at < trail.at; at++) {
    const s = trail.stages[at % TRAIL_LENGTH]!;
    if (s === ROUTE_END) {
      if (!tx) route.length = 0;
      continue;
    }
    if (OUTSIDE.has(s)) continue;
    if (IS_TX[s] === tx) extend(route, s);
    else if (!tx) route.length = 0;
  }
  const number = STAGE_NUMBER.get(stage)!;
  if (route.at(-1) !== number) extend(route, number);
  return route.map((n) => STAGES[n]!.name);
}

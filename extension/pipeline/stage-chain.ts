import type { ProbeHit } from './probe';
import { RX_STAGES, STAGE_BY_NAME, TX_STAGES, type Direction, type StageName } from './stages';

/** Position of each stage in its direction: a packet only ever moves forward. */
const STAGE_INDEX = new Map<StageName, number>([
  ...TX_STAGES.map((s, i) => [s, i] as const),
  ...RX_STAGES.map((s, i) => [s, i] as const),
]);

export function stageDirection(stage: StageName): Direction {
  return STAGE_BY_NAME.get(stage)!.direction;
}

export function stageIndex(stage: StageName): number {
  return STAGE_INDEX.get(stage)!;
}

/**
 * Which stages can come right before each one (the pipeline is a tree, not a
 * line: udp_input never follows tcp_input). Used to arm only the stages that
 * can appear in a breakpoint's call stack.
 */
const STAGE_PARENTS: Readonly<Partial<Record<StageName, readonly StageName[]>>> = {
  e1000_mmio_write: ['address_space_rw'],
  start_xmit: ['e1000_mmio_write'],
  process_tx_desc: ['start_xmit'],
  e1000_send_packet: ['process_tx_desc'],
  qemu_send_packet: ['e1000_send_packet'],
  net_slirp_receive: ['qemu_send_packet'],
  slirp_input: ['net_slirp_receive'],
  arp_input: ['slirp_input'],
  ip_input: ['slirp_input'],
  tcp_input: ['ip_input'],
  udp_input: ['ip_input'],
  icmp_input: ['ip_input'],
  bootp_input: ['udp_input'],
  tftp_input: ['udp_input'],
  dns_input: ['udp_input'],
  sosend: ['tcp_input'],
  sosendto: ['udp_input', 'icmp_input', 'dns_input'],
  tcp_output: ['soread'],
  udp_output: ['sorecvfrom'],
  icmp_reflect: ['sorecvfrom'],
  ip_output: ['tcp_output', 'udp_output', 'icmp_reflect'],
  if_output: ['ip_output'],
  net_slirp_send_packet: ['if_output'],
  qemu_receive_packet: ['net_slirp_send_packet'],
  e1000_receive_iov: ['qemu_receive_packet'],
  set_ics: ['e1000_receive_iov'],
};

/** Every stage that can come before `stage` on a packet's way. */
export function upstreamStages(stage: StageName): Set<StageName> {
  const out = new Set<StageName>();
  const visit = (s: StageName) => {
    for (const p of STAGE_PARENTS[s] ?? []) {
      if (out.has(p)) continue;
      out.add(p);
      visit(p);
    }
  };
  visit(stage);
  return out;
}

/** The stages one packet (and the frames derived from it) has crossed in one direction. */
export interface StageTrail {
  readonly direction: Direction;
  readonly stages: StageName[];
  lastIndex: number;
}

/**
 * Follows packets through the stages cheaply: a frame buffer seen before
 * continues its trail; a new buffer continues the direction's latest trail when
 * it is at a later stage (the pipeline is synchronous, so a frame built from
 * another, like the segment tcp_output makes from soread's bytes, arrives right
 * after it); anything else starts a new trail. A trail whose stage would go
 * backwards belongs to a new packet (buffers are reused by the NIC).
 */
export class StageChainTracker {
  private readonly byFrame = new WeakMap<Uint8Array, StageTrail>();
  private latest: Partial<Record<Direction, StageTrail>> = {};

  note(stage: StageName, hit: ProbeHit): StageTrail {
    const direction = stageDirection(stage);
    const index = stageIndex(stage);
    const hasFrame = hit.frame.length > 0;
    let trail = hasFrame ? this.byFrame.get(hit.frame) : undefined;
    if (trail && (trail.direction !== direction || index <= trail.lastIndex)) trail = undefined;
    if (!trail) {
      const latest = this.latest[direction];
      if (latest && index > latest.lastIndex) trail = latest;
    }
    if (!trail) trail = { direction, stages: [], lastIndex: -1 };
    trail.stages.push(stage);
    trail.lastIndex = index;
    this.latest[direction] = trail;
    if (hasFrame) this.byFrame.set(hit.frame, trail);
    return trail;
  }
}

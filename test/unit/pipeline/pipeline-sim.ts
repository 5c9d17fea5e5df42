/**
 * A miniature pipeline for the breakpoint tests: each stage fires its probe the
 * way the real stages do (`if (p.enter(frame) && p.fire(hit, resume)) return;`) and
 * then runs its body, which calls the next stage, possibly with a derived frame.
 */
import type { ProbeHub } from '../../../extension/pipeline/probe';
import type { StageName } from '../../../extension/pipeline/stages';

export interface Hop {
  readonly stage: StageName;
  /** The frame the next hop sees (the payload for sosend, a new segment for tcp_output). */
  readonly derive?: (frame: Uint8Array) => Uint8Array;
  /** Stages that cannot be held pass no resume closure. */
  readonly noResume?: boolean;
}

export class PipelineSim {
  /** Stage bodies that ran, in order: a held packet's stage body has not run yet. */
  readonly ran: StageName[] = [];

  constructor(private readonly hub: ProbeHub) {}

  send(frame: Uint8Array, hops: readonly Hop[]): void {
    this.hop(frame, hops, 0);
  }

  private hop(frame: Uint8Array, hops: readonly Hop[], i: number): void {
    const h = hops[i];
    // As slirp's soread does, the end of what a read led to is noted (its route ends there).
    if (!h) return void (hops[0]?.stage === 'soread' && this.hub.endRoute());
    const body = () => {
      this.ran.push(h.stage);
      this.hop(h.derive ? h.derive(frame) : frame, hops, i + 1);
    };
    const p = this.hub.probes[h.stage];
    // As in the real stages, resuming re-enters the stage: the probe lets the released frame pass once.
    if (p.enter(frame) && p.fire({ stage: h.stage, frame }, h.noResume ? undefined : () => this.hop(frame, hops, i))) return;
    body();
  }
}

const hops = (...stages: StageName[]): Hop[] => stages.map((stage) => ({ stage }));
/** The TDT write that starts a transmit, up to the frame the NIC sends. */
const NIC_TX = hops('e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet');

/** Guest to host TCP: the payload that reaches sosend is a view of the segment. */
export const TX_TCP: Hop[] = [
  ...NIC_TX,
  ...hops('qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input'),
  { stage: 'tcp_input', derive: (f) => f.subarray(54) },
  { stage: 'sosend' },
];
/** A TCP segment that ends in tcp_input (a bare SYN or ACK). */
export const TX_TCP_CONTROL: Hop[] = [...NIC_TX, ...hops('qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'tcp_input')];
export const TX_ARP: Hop[] = [...NIC_TX, ...hops('qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'arp_input')];
/** A segment the stack makes itself (a SYN-ACK, a bare ACK): no socket read before it. */
export function rxTcpControl(segment: Uint8Array): Hop[] {
  return rxTcp(segment).slice(1);
}
/** Host to guest TCP: soread's bytes become a fresh segment in tcp_output. */
export function rxTcp(segment: Uint8Array): Hop[] {
  return [
    { stage: 'soread', derive: () => segment.slice() },
    ...hops('tcp_output', 'ip_output', 'if_output', 'net_slirp_send_packet', 'qemu_receive_packet', 'e1000_receive_iov'),
    { stage: 'set_ics', noResume: true },
  ];
}

/**
 * Journeys: what happened to one frame, stage by stage, as pwru and retis tell
 * it for the kernel. This file is the data model other parts consume (the CLI,
 * the debugger, pcapng comments, the flow and topology views); the recorder
 * that builds journeys from the probes is journey-recorder.ts.
 *
 * A journey starts when a frame enters the pipeline: the guest's TX (the NIC's
 * register write and descriptors, or net_slirp_receive under QEMU) or a host
 * socket read (soread, sorecvfrom), or a packet the stack makes itself (an ARP
 * request, a SYN-ACK, an echo reply). It ends delivered to the guest, sent to
 * a host socket, answered by the stack, dropped, or still waiting (queued).
 */
import type { DropReason } from './drop-reasons';
import type { Direction, StageName } from './stages';

/**
 * What a stage did with the frame.
 * - forwarded: passed it on to the next stage
 * - held: a breakpoint stopped it here (it went on when the VM resumed, if a later step follows)
 * - queued: it waits here (for the guest's ARP reply, for RX buffers) and had not gone on when the journey was closed
 * - answered: the stack answered it itself (ARP, ICMP echo to the gateway, DHCP): see Journey.replies
 * - accepted: the stage took it in without passing anything on (a bare TCP ACK, a DHCP release)
 * - reassembled: a fragment, kept until its datagram (IP id `datagram`) is whole; the fragment completing it goes on
 * - sent: written to a host socket (the end of a guest's frame that leaves through NAT)
 * - delivered: written into the guest's RX ring (or, under QEMU, handed to QEMU's NIC)
 * - dropped: discarded for `reason` (drop-reasons.ts)
 */
export type Verdict =
  | { readonly kind: 'forwarded' | 'held' | 'queued' | 'answered' | 'accepted' | 'sent' | 'delivered' }
  | { readonly kind: 'reassembled'; readonly datagram: number }
  | { readonly kind: 'dropped'; readonly reason: DropReason };

export interface JourneyStep {
  readonly stage: StageName;
  /** VM milliseconds (the clock stands still while the VM is paused). */
  readonly time: number;
  verdict: Verdict;
  /** A breakpoint held the frame here before it went on. */
  held?: boolean;
  /** A network condition held the frame here for this long (VM ms) before it went on, and which ("netem delay"). */
  delayed?: { readonly ms: number; readonly by: string };
}

/** "held 100 ms by netem delay" */
export function delayText(d: NonNullable<JourneyStep['delayed']>): string {
  return `held ${d.ms < 10 ? +d.ms.toFixed(1) : Math.round(d.ms)} ms by ${d.by}`;
}

/** The translation the stack made for the frame: the guest's view and the host socket's. */
export interface NatMapping {
  readonly session: number;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  /** "10.0.2.15:40000" */
  readonly guest: string;
  /** The host socket's peer, "93.184.216.34:80" (for hostfwd, the host client). */
  readonly host: string;
}

export interface Journey {
  /** Unique within a VM, in order of entry. */
  readonly id: number;
  readonly direction: Direction;
  /** VM milliseconds at entry. */
  readonly startedAt: number;
  /** One line in Wireshark's Info style, from the first stage that had the whole frame. */
  summary: string;
  readonly steps: JourneyStep[];
  nat?: NatMapping;
  /** The journey this one answers (a reply toward the guest links to the guest's request, by flow). */
  replyTo?: number;
  /** Journeys answering this one. */
  readonly replies: number[];
  /** A copy of the frame as the first whole-frame stage saw it (for captures and the debugger). */
  frame?: Uint8Array;
  /** No further steps will be added. */
  closed: boolean;
}

/** What a recorder tells its listeners, in order: a journey starts, takes steps, ends. */
export type JourneyEvent =
  | { readonly type: 'start'; readonly journey: Journey }
  | { readonly type: 'step'; readonly journey: Journey; readonly step: JourneyStep }
  | { readonly type: 'end'; readonly journey: Journey };

export function verdictText(v: Verdict): string {
  switch (v.kind) {
    case 'dropped': return `dropped: ${v.reason}`;
    case 'reassembled': return `reassembled into datagram ${v.datagram}`;
    default: return v.kind;
  }
}

/** The last verdict: how the journey ended. */
export function outcome(j: Journey): Verdict | undefined {
  return j.steps[j.steps.length - 1]?.verdict;
}

/**
 * The journey as an indented tree, times in seconds since `origin` (VM ms):
 *
 *     journey 12 tx 10.0.2.15 -> 10.0.2.2 ICMP echo request id=1 seq=1
 *       0.104211 e1000_send_packet  forwarded
 *       0.104230 icmp_input  answered (reply: journey 13)
 */
export function formatJourney(j: Journey, origin = 0): string {
  const head = [`journey ${j.id} ${j.direction}`];
  if (j.replyTo !== undefined) head.push(`(reply to ${j.replyTo})`);
  head.push(j.summary);
  const lines = [head.join(' ')];
  if (j.nat) lines.push(`  nat ${j.nat.protocol} ${j.nat.guest} <-> ${j.nat.host} (session ${j.nat.session})`);
  const last = j.steps.length - 1;
  j.steps.forEach((s, i) => {
    let verdict = verdictText(s.verdict);
    if (s.held && s.verdict.kind !== 'held') verdict = `held, then ${verdict}`;
    if (s.delayed) verdict = `${delayText(s.delayed)}, then ${verdict}`;
    if (i === last && s.verdict.kind === 'answered' && j.replies.length) verdict += ` (reply: journey ${j.replies.join(', ')})`;
    lines.push(`  ${((s.time - origin) / 1000).toFixed(6)} ${s.stage}  ${verdict}`);
  });
  return lines.join('\n');
}

/** One JSON object per journey, for scripts (`usernet run --journey F --json`). */
export function journeyJson(j: Journey, origin = 0): Record<string, unknown> {
  return {
    journey: j.id,
    direction: j.direction,
    summary: j.summary,
    ...(j.replyTo !== undefined ? { replyTo: j.replyTo } : {}),
    ...(j.replies.length ? { replies: j.replies } : {}),
    ...(j.nat ? { nat: j.nat } : {}),
    steps: j.steps.map((s) => ({ stage: s.stage, time: +((s.time - origin) / 1000).toFixed(6), verdict: verdictText(s.verdict), ...(s.held ? { held: true } : {}), ...(s.delayed ? { delayed: delayText(s.delayed) } : {}) })),
  };
}

/** A captured frame's pcapng comment: "stage qemu_send_packet; journey 12; nat tcp 10.0.2.15:40000 <-> 93.184.216.34:80 (session 3)". */
export function captureComment(stage: StageName, j: Journey | undefined): string {
  const parts = [`stage ${stage}`];
  if (j) {
    parts.push(`journey ${j.id}`);
    if (j.replyTo !== undefined) parts.push(`reply to ${j.replyTo}`);
    if (j.nat) parts.push(`nat ${j.nat.protocol} ${j.nat.guest} <-> ${j.nat.host} (session ${j.nat.session})`);
  }
  return parts.join('; ');
}

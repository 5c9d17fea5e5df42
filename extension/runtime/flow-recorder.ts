/**
 * Records every NAT session's flow (pipeline/flow/record.ts) for the flow
 * graph and the TCP stream graph: the packets each way from the journeys
 * (journey id, drop and reason included), the host socket's reads and writes
 * from the socket stages, the session's state changes and, for TCP, the
 * stack's own congestion state sampled at each segment. It only reads: the
 * journey recorder's events, the socket probes and the NAT table.
 *
 * The runtime runs it while the UI asks (a view that shows flows is
 * visible). What it keeps is what makes it cheap (bench/probe-cost.ts): a flow
 * no view reads keeps its first `head` items (the handshake) and its latest
 * `tail`, so a session opened meanwhile still shows how it began when its flow
 * view opens later, and the packets in between die young; a flow a view read
 * within WATCHED_MS is kept whole, up to `perFlow` items (its head stays),
 * all flows together `total` (the oldest closed flow goes first). Every item
 * let go is counted. A packet is its item plus a reference to its journey
 * (frame and steps, for the decode and journey of one arrow; past the
 * latest JOURNEYS_KEPT only the frame): no map entry, no string per packet.
 */
import type { Clock } from '../pipeline/clock';
import { formatJourney, type Journey } from '../pipeline/journey';
import type { JourneyRecorder, RecorderEvent } from '../pipeline/journey-recorder';
import type { ProbeHit, ProbeHub } from '../pipeline/probe';
import { PacketView } from '../pipeline/dissect/packet-view';
import { endpointText, FlowTracker, frameTuple, type FlowEndpoints, type FlowItem, type FlowPacket, type FlowSnapshot, type HostEventName, type TcpSample } from '../pipeline/flow/record';
import { get16 } from '../wire/bytes';
import { guestAddrText, remoteAddrText, type NatSession, type NatTable } from '../slirp/nat';

export interface FlowLimits {
  /** Items kept per flow while a view reads it (packets, host events and samples together). */
  readonly perFlow: number;
  /** Items kept over every flow. */
  readonly total: number;
  /** A flow no view reads keeps its first `head` items and its latest `tail`. */
  readonly head: number;
  readonly tail: number;
}

export const DEFAULT_FLOW_LIMITS: FlowLimits = { perFlow: 20_000, total: 200_000, head: 48, tail: 256 };
/** A flow read this recently (VM ms) has a view open: it is kept whole. A hidden view reads every 2 s to stay so (ui/flow-panel.ts). */
export const WATCHED_MS = 5_000;
/** Packets seen before their NAT session opened (a SYN), kept this long for it. */
const PENDING_MS = 2_000;
/** A dropped packet's item is looked for among this many latest items of its flow. */
const DROP_LOOKBACK = 512;
/** A flow's latest packets keep their whole journey (its steps, for the detail of an arrow); older ones only their frame. */
export const JOURNEYS_KEPT = 2_000;

interface Flow {
  readonly id: number;
  readonly session: NatSession;
  readonly tracker: FlowTracker;
  readonly endpoints: FlowEndpoints;
  /** In order of n (with a gap where items were let go). */
  readonly items: FlowItem[];
  /** The journey of each packet item, or only its frame once older than JOURNEYS_KEPT (undefined for other items), index for index with `items`. */
  readonly journeys: Array<Journey | Uint8Array | undefined>;
  next: number;
  forgotten: number;
  closed: boolean;
  state: string;
  lastSample: Omit<TcpSample, 'time'> | undefined;
  /** VM time of the last read by a view (-Infinity: never). */
  readAt: number;
}

/** The key of a flow from the guest's side: "tcp 10.0.2.15:40000>10.0.2.2:8080". */
const flowKey = (protocol: string, guest: string, remote: string): string => `${protocol} ${guest}>${remote}`;

export class FlowRecorder {
  private readonly flows = new Map<number, Flow>();
  private readonly byKey = new Map<string, Flow>();
  private readonly pending = new Map<string, Array<{ journey: Journey; time: number }>>();
  /** The IPv4 addresses, ports and protocol of the last frame matched by its bytes, and its flow (a bulk transfer's frames come in a row). */
  private readonly lastTuple = new Uint8Array(13);
  private lastTupleFlow: Flow | undefined;
  private total = 0;
  /** Items forgotten with whole flows (closed flows let go to stay within `total`). */
  forgottenFlows = 0;
  private readonly stops: Array<() => void> = [];

  constructor(
    private readonly nat: NatTable,
    private readonly clock: Clock,
    private readonly limits: FlowLimits = DEFAULT_FLOW_LIMITS,
  ) {}

  /** Starts listening; returns the stop function. */
  start(journeys: JourneyRecorder, probes: ProbeHub): () => void {
    const onOpen = (s: NatSession) => this.opened(s);
    const onChange = (s: NatSession) => this.changed(s);
    const onClose = (s: NatSession) => this.closedSession(s);
    this.nat.on('open', onOpen);
    this.nat.on('change', onChange);
    this.nat.on('close', onClose);
    this.stops.push(() => {
      this.nat.off('open', onOpen);
      this.nat.off('change', onChange);
      this.nat.off('close', onClose);
    });
    for (const s of this.nat.list()) this.opened(s);
    this.stops.push(journeys.listen((e) => this.onJourney(e)));
    this.stops.push(probes.probes.sosend.listen((h) => this.socketData(h, 'send')));
    this.stops.push(probes.probes.sosendto.listen((h) => this.socketData(h, 'send')));
    this.stops.push(probes.probes.soread.listen((h) => this.socketData(h, 'recv')));
    this.stops.push(probes.probes.sorecvfrom.listen((h) => this.socketData(h, 'recv')));
    return () => this.stop();
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
  }

  /**
   * The items of session `id` from `from` on; undefined for a session never
   * recorded (or forgotten). A read means a view shows the flow: it is kept
   * whole from now on while reads go on.
   */
  snapshot(id: number, from = 0): FlowSnapshot | undefined {
    const f = this.flows.get(id);
    if (!f) return undefined;
    f.readAt = this.clock.now();
    const items = f.items.slice(firstAtOrAfter(f.items, from));
    return { endpoints: this.endpointsOf(f), items, next: f.next, forgotten: f.forgotten, closed: f.closed, state: f.closed ? 'closed' : f.session.state };
  }

  /** One packet's frame and journey (as the CLI prints it). */
  detail(id: number, n: number): { frame?: Uint8Array; journey?: string } | undefined {
    const f = this.flows.get(id);
    if (!f) return undefined;
    const i = firstAtOrAfter(f.items, n);
    const j = f.items[i]?.n === n ? f.journeys[i] : undefined;
    if (!j) return undefined;
    if (j instanceof Uint8Array) return { frame: j, journey: `journey ${(f.items[i] as FlowPacket).journey}: its steps are kept for the latest ${JOURNEYS_KEPT} packets of a flow` };
    return { ...(j.frame ? { frame: j.frame } : {}), journey: formatJourney(j) };
  }

  /** The n of every kept packet of session `id` whose frame `keep` accepts. */
  packetsMatching(id: number, keep: (frame: Uint8Array) => boolean): number[] {
    const f = this.flows.get(id);
    const matches: number[] = [];
    f?.journeys.forEach((j, i) => {
      const frame = j instanceof Uint8Array ? j : j?.frame;
      if (frame && keep(frame)) matches.push(f.items[i]!.n);
    });
    return matches;
  }

  /** Sessions recorded (live and closed ones still kept). */
  get sessionIds(): number[] {
    return [...this.flows.keys()];
  }

  // ---- NAT table ----

  private opened(s: NatSession): void {
    if (this.flows.has(s.id)) return;
    const protocol = s.protocol;
    const guest = endpointText(guestAddrText(s), s.guestPort, protocol);
    const slirp = endpointText(remoteAddrText(s), s.remotePort, protocol);
    const f: Flow = {
      id: s.id, session: s, tracker: new FlowTracker(), endpoints: { protocol, guest, slirp, host: '' },
      items: [], journeys: [], next: 0, forgotten: 0, closed: false, state: s.state, lastSample: undefined, readAt: -Infinity,
    };
    this.flows.set(s.id, f);
    const key = flowKey(protocol, guest, slirp);
    this.byKey.set(key, f);
    // The guest's SYN came first: it opened the session, then the host socket connects.
    const waiting = this.pending.get(key);
    this.pending.delete(key);
    for (const w of waiting ?? []) if (this.clock.now() - w.time <= PENDING_MS) this.addPacket(f, w.journey);
    const host = this.hostOf(s);
    this.host(f, 'connect', s.inbound ? `accept ${host}` : `connect ${host}`);
  }

  private changed(s: NatSession): void {
    const f = this.flows.get(s.id);
    if (!f || f.closed || s.state === f.state) return;
    f.state = s.state;
    this.host(f, 'state', `state ${s.state}`);
  }

  private closedSession(s: NatSession): void {
    const f = this.flows.get(s.id);
    if (!f || f.closed) return;
    this.host(f, 'close', 'close');
    f.closed = true;
    const key = flowKey(f.endpoints.protocol, f.endpoints.guest, f.endpoints.slirp);
    if (this.byKey.get(key) === f) this.byKey.delete(key);
    if (this.lastTupleFlow === f) this.lastTupleFlow = undefined;
  }

  private hostOf(s: NatSession): string {
    return s.hostPeerAddr ? endpointText(s.hostPeerAddr, s.hostPeerPort, s.protocol) : '';
  }

  private endpointsOf(f: Flow): FlowEndpoints {
    return { ...f.endpoints, host: this.hostOf(f.session) || f.endpoints.slirp };
  }

  // ---- journeys and socket stages ----

  private onJourney(e: RecorderEvent): void {
    if (e.type === 'start') {
      const j = e.journey;
      if (!j.frame) return;
      const f = this.flowOf(j);
      if (f) return this.addPacket(f, j);
      const key = this.keyOfFrame(j);
      if (key !== undefined) this.remember(key, j);
    } else if (e.type === 'end') {
      // Only a drop changes an item once its journey is over; drops are rare, so no journey -> item map is kept.
      const last = e.journey.steps[e.journey.steps.length - 1];
      if (last?.verdict.kind !== 'dropped' || !e.journey.frame) return;
      const f = this.flowOf(e.journey);
      if (!f) return;
      for (let i = f.journeys.length - 1; i >= Math.max(0, f.journeys.length - DROP_LOOKBACK); i--) {
        if (f.journeys[i] !== e.journey) continue;
        (f.items[i] as FlowPacket).drop = { reason: last.verdict.reason, stage: last.stage };
        return;
      }
    }
  }

  /** The open flow a journey's frame belongs to: by its NAT mapping, else by its addresses and ports. */
  private flowOf(j: Journey): Flow | undefined {
    const byNat = j.nat ? this.flows.get(j.nat.session) : undefined;
    if (byNat && !byNat.closed) return byNat;
    const frame = j.frame!;
    const same = this.lastTupleFlow !== undefined && sameIpv4Tuple(frame, this.lastTuple, j.direction === 'rx');
    if (same) return this.lastTupleFlow;
    const key = this.keyOfFrame(j);
    const f = key === undefined ? undefined : this.byKey.get(key);
    if (f && keepIpv4Tuple(frame, this.lastTuple, j.direction === 'rx')) this.lastTupleFlow = f;
    return f;
  }

  private keyOfFrame(j: Journey): string | undefined {
    const t = frameTuple(j.frame!);
    if (!t || t.protocol === 'other') return undefined;
    const src = endpointText(t.src, t.sport, t.protocol);
    const dst = endpointText(t.dst, t.dport, t.protocol);
    return j.direction === 'tx' ? flowKey(t.protocol, src, dst) : flowKey(t.protocol, dst, src);
  }

  /** A packet before its session (the guest's SYN): kept briefly for the session it opens. */
  private remember(key: string, journey: Journey): void {
    if (this.pending.size >= 256) this.pending.clear();
    const list = this.pending.get(key) ?? [];
    if (list.length < 8) list.push({ journey, time: this.clock.now() });
    this.pending.set(key, list);
  }

  private addPacket(f: Flow, j: Journey): void {
    this.push(f, f.tracker.packet(f.next, j.startedAt, j.direction, j.frame!, j.id, j.summary), j);
    this.sample(f);
  }

  private sample(f: Flow): void {
    const s = f.session.tcpSample?.();
    if (!s) return;
    const l = f.lastSample;
    if (l && l.cwnd === s.cwnd && l.ssthresh === s.ssthresh && l.peerWindow === s.peerWindow && l.srtt === s.srtt && l.inFlight === s.inFlight && l.retransmits === s.retransmits) return;
    f.lastSample = s;
    this.push(f, { kind: 'sample', n: f.next, time: this.clock.now(), ...s });
  }

  private socketData(hit: ProbeHit, event: 'send' | 'recv'): void {
    const f = hit.session && this.flows.get(hit.session.id);
    if (!f || f.closed) return;
    const bytes = hit.payload?.length ?? udpPayloadLength(hit.frame);
    this.host(f, event, `${event === 'send' ? 'send' : 'recv'} ${bytes} bytes`, bytes);
  }

  private host(f: Flow, event: HostEventName, text: string, bytes?: number): void {
    this.push(f, { kind: 'host', n: f.next, time: this.clock.now(), event, text, ...(bytes !== undefined ? { bytes } : {}) });
  }

  // ---- limits ----

  private push(f: Flow, item: FlowItem, journey?: Journey): void {
    f.items.push(item);
    f.journeys.push(journey);
    // Steps kept long would be promoted by the GC, whose copying is most of what recording costs.
    const aged = f.journeys.length - 1 - JOURNEYS_KEPT;
    const old = aged >= 0 ? f.journeys[aged] : undefined;
    if (old && !(old instanceof Uint8Array)) f.journeys[aged] = old.frame;
    f.next++;
    this.total++;
    const { head, tail, perFlow } = this.limits;
    const watched = this.clock.now() - f.readAt < WATCHED_MS;
    // Unread, the middle goes a quarter of `tail` at a time (splicing per item would cost); read, the oldest after the head.
    if (!watched && f.items.length > head + tail + tail / 4) this.forget(f, f.items.length - head - tail);
    else if (f.items.length > perFlow) this.forget(f, Math.max(f.items.length - perFlow, Math.ceil(perFlow / 10)));
    while (this.total > this.limits.total && this.forgetOldestClosed()) { /* one closed flow per turn */ }
    if (this.total > this.limits.total) this.forget(f, this.total - this.limits.total);
  }

  /** Lets go of `count` items of `f` after its head (all but the latest item at most). */
  private forget(f: Flow, count: number): void {
    const from = Math.min(this.limits.head, f.items.length - 1);
    const n = Math.max(0, Math.min(count, f.items.length - 1 - from));
    f.items.splice(from, n);
    f.journeys.splice(from, n);
    f.forgotten += n;
    this.total -= n;
  }

  private forgetOldestClosed(): boolean {
    for (const f of this.flows.values()) {
      if (!f.closed) continue;
      this.flows.delete(f.id);
      this.total -= f.items.length;
      this.forgottenFlows += f.items.length;
      return true;
    }
    return false;
  }
}

/** The index of the first item numbered `n` or later (items are in order of n). */
function firstAtOrAfter(items: readonly FlowItem[], n: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid]!.n < n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * An IPv4 frame's protocol, addresses and ports, guest side first (`reply`:
 * the frame goes to the guest), compared with or copied into `into` (13
 * bytes). False for anything but an unfragmented-or-first IPv4 fragment.
 */
function ipv4Tuple(frame: Uint8Array, into: Uint8Array, reply: boolean, copy: boolean): boolean {
  if (frame.length < 38 || frame[12] !== 0x08 || frame[13] !== 0x00 || ((frame[20]! & 0x1f) | frame[21]!) !== 0) return false;
  const l4 = 14 + (frame[14]! & 0x0f) * 4;
  if (frame.length < l4 + 4) return false;
  const guestAddr = reply ? 30 : 26;
  const guestPort = reply ? l4 + 2 : l4;
  for (let i = 0; i < 13; i++) {
    // protocol, guest address, remote address, guest port, remote port
    const at = i === 0 ? 23 : i < 5 ? guestAddr + i - 1 : i < 9 ? (56 - guestAddr) + i - 5 : i < 11 ? guestPort + i - 9 : (2 * l4 + 2 - guestPort) + i - 11;
    if (copy) into[i] = frame[at]!;
    else if (into[i] !== frame[at]) return false;
  }
  return true;
}
const sameIpv4Tuple = (frame: Uint8Array, tuple: Uint8Array, reply: boolean) => ipv4Tuple(frame, tuple, reply, false);
const keepIpv4Tuple = (frame: Uint8Array, tuple: Uint8Array, reply: boolean) => ipv4Tuple(frame, tuple, reply, true);

function udpPayloadLength(frame: Uint8Array): number {
  const v = new PacketView(frame).layers();
  return v.transport === 'udp' ? Math.max(0, get16(frame, v.l4Off + 4) - 8) : frame.length;
}

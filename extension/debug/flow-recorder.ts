/**
 * Records every NAT session's flow (pipeline/flow/record.ts) for the flow
 * graph and the TCP stream graph: the packets each way from the journeys
 * (journey id, drop and reason included), the host socket's reads and writes
 * from the socket stages, the session's state changes and, for TCP, the
 * stack's own congestion state sampled at each segment. It only reads: the
 * journey recorder's events, the socket probes and the NAT table.
 *
 * The runtime runs it while the UI asks (a view that shows flows is
 * visible), so a session opened meanwhile shows its handshake even if its
 * flow view opens later; its cost is the journey recorder's for every packet
 * (bench/probe-cost.ts). Memory is bounded: each flow keeps its latest
 * `perFlow` items, all flows together `total`; past that the oldest closed
 * flow is forgotten first, then the oldest items of the flow that grows, and
 * every forgotten item is counted.
 */
import type { Clock } from '../pipeline/clock';
import { formatJourney, type Journey } from '../pipeline/journey';
import type { JourneyRecorder, RecorderEvent } from '../pipeline/journey-recorder';
import type { ProbeHit, ProbeHub } from '../pipeline/probe';
import { PacketView } from '../pipeline/dissect/packet-view';
import { endpointText, FlowTracker, frameTuple, type FlowEndpoints, type FlowItem, type FlowPacket, type FlowSnapshot, type HostEventName } from '../pipeline/flow/record';
import { get16 } from '../wire/bytes';
import { guestAddrText, remoteAddrText, type NatSession, type NatTable } from '../slirp/nat';

export interface FlowLimits {
  /** Items kept per flow (packets, host events and samples together). */
  readonly perFlow: number;
  /** Items kept over every flow. */
  readonly total: number;
}

export const DEFAULT_FLOW_LIMITS: FlowLimits = { perFlow: 20_000, total: 200_000 };
/** Packets seen before their NAT session opened (a SYN), kept this long for it. */
const PENDING_MS = 2_000;

interface Flow {
  readonly id: number;
  readonly session: NatSession;
  readonly tracker: FlowTracker;
  readonly endpoints: FlowEndpoints;
  items: FlowItem[];
  /** journey and frame of each packet item, by n (for the detail of one arrow). */
  readonly journeys: Map<number, Journey>;
  next: number;
  forgotten: number;
  closed: boolean;
  state: string;
  lastSample: string;
}

/** The key of a flow from the guest's side: "tcp 10.0.2.15:40000>10.0.2.2:8080". */
const flowKey = (protocol: string, guest: string, remote: string): string => `${protocol} ${guest}>${remote}`;

export class FlowRecorder {
  private readonly flows = new Map<number, Flow>();
  private readonly byKey = new Map<string, Flow>();
  private readonly pending = new Map<string, Array<{ journey: Journey; time: number }>>();
  private readonly byJourney = new Map<number, { flow: Flow; item: FlowPacket }>();
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

  /** The items of session `id` from `from` on; undefined for a session never recorded (or forgotten). */
  snapshot(id: number, from = 0): FlowSnapshot | undefined {
    const f = this.flows.get(id);
    if (!f) return undefined;
    const first = f.next - f.items.length;
    const items = f.items.slice(Math.max(0, from - first));
    return { endpoints: this.endpointsOf(f), items, next: f.next, forgotten: f.forgotten, closed: f.closed, state: f.closed ? 'closed' : f.session.state };
  }

  /** One packet's frame and journey (as the CLI prints it). */
  detail(id: number, n: number): { frame?: Uint8Array; journey?: string } | undefined {
    const f = this.flows.get(id);
    const j = f?.journeys.get(n);
    if (!j) return undefined;
    return { ...(j.frame ? { frame: j.frame } : {}), journey: formatJourney(j) };
  }

  /** The n of every kept packet of session `id` whose frame `keep` accepts. */
  packetsMatching(id: number, keep: (frame: Uint8Array) => boolean): number[] {
    const matches: number[] = [];
    for (const [n, j] of this.flows.get(id)?.journeys ?? []) if (j.frame && keep(j.frame)) matches.push(n);
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
      items: [], journeys: new Map(), next: 0, forgotten: 0, closed: false, state: s.state, lastSample: '',
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
      const f = j.nat ? this.flows.get(j.nat.session) : undefined;
      if (f && !f.closed) return this.addPacket(f, j);
      const key = this.keyOfFrame(j);
      if (key === undefined) return;
      const byKey = this.byKey.get(key);
      if (byKey) return this.addPacket(byKey, j);
      this.remember(key, j);
    } else if (e.type === 'end') {
      const known = this.byJourney.get(e.journey.id);
      if (!known) return;
      this.byJourney.delete(e.journey.id);
      const last = e.journey.steps[e.journey.steps.length - 1];
      if (last?.verdict.kind === 'dropped') known.item.drop = { reason: last.verdict.reason, stage: last.stage };
    }
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
    const item = f.tracker.packet(f.next, j.startedAt, j.direction, j.frame!, j.id, j.summary);
    this.push(f, item);
    f.journeys.set(item.n, j);
    if (!j.closed) {
      if (this.byJourney.size >= 4096) this.byJourney.clear();
      this.byJourney.set(j.id, { flow: f, item });
    }
    this.sample(f);
  }

  private sample(f: Flow): void {
    const s = f.session.tcpSample?.();
    if (!s) return;
    const key = `${s.cwnd} ${s.ssthresh} ${s.peerWindow} ${s.srtt} ${s.inFlight} ${s.retransmits}`;
    if (key === f.lastSample) return;
    f.lastSample = key;
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

  private push(f: Flow, item: FlowItem): void {
    f.items.push(item);
    f.next++;
    this.total++;
    if (f.items.length > this.limits.perFlow) this.forget(f, f.items.length - this.limits.perFlow);
    while (this.total > this.limits.total && this.forgetOldestClosed()) { /* one closed flow per turn */ }
    if (this.total > this.limits.total) this.forget(f, Math.min(f.items.length - 1, this.total - this.limits.total));
  }

  /** Lets go of the `count` oldest items of `f` (a tenth more at once: splicing per item would cost). */
  private forget(f: Flow, count: number): void {
    const n = Math.min(f.items.length, Math.max(count, Math.ceil(f.items.length / 10)));
    const gone = f.items.splice(0, n);
    for (const item of gone) if (item.kind === 'packet') f.journeys.delete(item.n);
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

function udpPayloadLength(frame: Uint8Array): number {
  const v = new PacketView(frame).layers();
  return v.transport === 'udp' ? Math.max(0, get16(frame, v.l4Off + 4) - 8) : frame.length;
}

/**
 * Builds journeys (journey.ts) from the probes, the drop ledger and the holds
 * of one VM. Off, it costs nothing: no probe is armed for it. On, it listens
 * at every stage; a filter is evaluated once per frame, at the first stage that
 * has the whole frame, and a frame it rejects is passed over (ProbeHub.passOver)
 * by its later stages where only recorders listen: no hit is built for it.
 *
 * Which journey a hit belongs to: the same buffer continues its journey (the
 * net queue may deliver it later, so buffers are kept in a map until their
 * journey closes); a new buffer at a later stage of the direction continues
 * the direction's latest journey (the pipeline is synchronous: the segment
 * tcp_output builds from soread's bytes comes right after them); anything else
 * starts a journey. The TX ring's register write and descriptors come before
 * the frame exists: they are kept and given to the journey the frame starts.
 *
 * A journey closes when it is dropped, sent to a host socket, delivered with
 * its interrupt, or when it has taken no step for IDLE_MS of VM time (a frame
 * the stack took in, or one still waiting). A reply links to the latest
 * journey of the reverse flow (addresses, ports, ICMP id, DHCP xid).
 */
import type { Clock } from './clock';
import { summarize } from './dissect/summarize';
import type { DropEvent } from './drop-ledger';
import type { DropReason } from './drop-reasons';
import type { CompiledFilter } from './filter';
import type { Journey, JourneyEvent, JourneyStep } from './journey';
import type { HeldPacket, ProbeHit, ProbeHub } from './probe';
import { stagePosition } from './stage-chain';
import { STAGES, type Direction, type EngineKind, type StageName } from './stages';

/** A journey closes after this long without a step (VM milliseconds). */
export const IDLE_MS = 200;
/** The TX ring's tail register: a write there starts transmission. */
const TDT = 0x3818;
const RX_WHOLE_FROM = stagePosition('ip_output').index;
const TX_SOCKET: ReadonlySet<StageName> = new Set(['sosend', 'sosendto']);
/** Flows remembered for linking replies; past this the memory starts afresh. */
const MAX_FLOWS = 4096;

export interface JourneyRecorderOptions {
  readonly clock: Clock;
  /** Only frames matching it are recorded (all when absent). */
  readonly filter?: CompiledFilter;
  /** Under QEMU the NIC is QEMU's: a frame for the guest is delivered once slirp hands it over. */
  readonly engine?: EngineKind;
}

/** A drop as the recorder reports it, with the journey it ended when it could tell which. */
export interface JourneyDrop {
  readonly type: 'drop';
  readonly stage: StageName;
  readonly reason: DropReason;
  readonly time: number;
  readonly journey?: Journey;
  /** The frame's summary, when the drop came with its frame or its journey. */
  readonly summary?: string;
}

export type RecorderEvent = JourneyEvent | JourneyDrop;

interface Open extends Journey {
  lastIndex: number;
  lastTime: number;
  /** The filter has seen the whole frame. */
  decided: boolean;
  /** The filter rejected it: followed (to know its buffers) but never reported. */
  ignored: boolean;
  /** Ignored, and its frame passed over by the later stages: a new frame there does not continue it. */
  passedOver?: boolean;
  buffers: Uint8Array[];
  fragmentOf?: number;
}

export class JourneyRecorder {
  private nextId = 1;
  private readonly open = new Set<Open>();
  private readonly byBuffer = new Map<Uint8Array, Open>();
  private readonly latest: Record<Direction, Open | undefined> = { tx: undefined, rx: undefined };
  private readonly txByFlow = new Map<string, Open>();
  private prelude: JourneyStep[] = [];
  private lastHit: Open | undefined;
  /** The journey closed last and its buffers: a listener after this one at the closing stage (a capture) still asks for it. */
  private closedLast: { journey: Open; buffers: Uint8Array[] } | undefined;
  private listeners: Array<(e: RecorderEvent) => void> = [];
  private readonly stops: Array<() => void> = [];
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly hub: ProbeHub, private readonly options: JourneyRecorderOptions) {}

  /** Arms every stage and starts closing idle journeys; returns the stop function. */
  start(): () => void {
    for (const s of STAGES) {
      const stage = s.name;
      // Every MMIO access, not a packet's step: arming it would only cost.
      if (stage === 'address_space_rw') continue;
      const position = stagePosition(stage);
      this.stops.push(this.hub.probes[stage].listen((hit) => this.onHit(stage, position.direction, position.index, hit), { passOver: true }));
    }
    this.stops.push(this.hub.drops.listen((d) => this.onDrop(d)));
    this.stops.push(this.hub.observeHolds((h) => this.onHold(h)));
    this.stops.push(this.hub.observeConditionHolds((hit, ms, cause) => this.onConditionHold(hit, ms, cause)));
    this.sweeper = setInterval(() => this.sweep(false), 50);
    this.sweeper.unref?.();
    return () => this.stop();
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.flush();
  }

  /** Journeys (and drops) as they happen. Returns the unsubscribe function. */
  listen(listener: (e: RecorderEvent) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Closes every open journey now (at exit, and in tests). */
  flush(): void {
    this.sweep(true);
  }

  /** The open journey of a held frame: the debugger shows it at a stop. */
  journeyOf(frame: Uint8Array): Journey | undefined {
    const j = this.byBuffer.get(frame) ?? (this.closedLast?.buffers.includes(frame) ? this.closedLast.journey : undefined);
    return j && !j.ignored ? j : undefined;
  }

  // ---- probes ----

  private onHit(stage: StageName, direction: Direction, index: number, hit: ProbeHit): void {
    const frame = hit.frame;
    // The common case of a filter that does not match: a frame already known to be of no interest goes on.
    const known = frame.length > 0 ? this.byBuffer.get(frame) : undefined;
    if (known !== undefined && known.ignored && known.direction === direction && index > known.lastIndex) {
      known.lastIndex = index;
      this.latest[direction] = this.lastHit = known;
      if (direction === 'tx' && TX_SOCKET.has(stage)) this.close(known);
      return;
    }
    const time = this.options.clock.now();
    if (stage === 'e1000_mmio_write') {
      if (hit.register?.offset === TDT) this.prelude = [{ stage, time, verdict: { kind: 'forwarded' } }];
      return;
    }
    if (stage === 'start_xmit' || stage === 'process_tx_desc') {
      if (!this.prelude.some((s) => s.stage === stage)) this.prelude.push({ stage, time, verdict: { kind: 'forwarded' } });
      return;
    }
    if (stage === 'set_ics') {
      const j = this.lastHit;
      if (j && j.direction === 'rx' && j.lastIndex === index - 1 && !j.closed) {
        if (!j.ignored) this.step(j, stage, index, time);
        this.close(j);
      }
      return;
    }
    let j: Open | undefined;
    if (frame.length > 0) {
      j = known;
      if (j && (j.direction !== direction || index <= j.lastIndex)) j = undefined;
    }
    if (!j) {
      const latest = this.latest[direction];
      if (latest && !latest.closed && index > latest.lastIndex && (frame.length === 0 || (!latest.passedOver && !this.byBuffer.has(frame)))) j = latest;
    }
    j ??= this.begin(direction, time);
    if (frame.length > 0 && this.byBuffer.get(frame) !== j) {
      this.byBuffer.set(frame, j);
      j.buffers.push(frame);
    }
    this.latest[direction] = j;
    this.lastHit = j;
    if (!j.ignored) {
      if (hit.session && !j.nat) j.nat = natOf(hit);
      this.step(j, stage, index, time);
    } else {
      j.lastIndex = index;
      j.lastTime = time;
    }
    if (!j.decided && frame.length > 0 && (direction === 'tx' || index >= RX_WHOLE_FROM)) this.decide(j, hit);
    if (direction === 'tx' && TX_SOCKET.has(stage)) this.close(j);
    if (direction === 'rx' && stage === 'net_slirp_send_packet' && this.options.engine === 'qemu') this.close(j);
  }

  private begin(direction: Direction, time: number): Open {
    // A new frame: the one passed over before it is done with (its later stages are not seen to close it).
    this.hub.newFrame();
    const previous = this.latest[direction];
    if (previous?.ignored) this.close(previous);
    const j: Open = {
      id: this.nextId++,
      direction,
      startedAt: time,
      summary: '',
      steps: direction === 'tx' ? this.prelude : [],
      replies: [],
      closed: false,
      lastIndex: -1,
      lastTime: time,
      decided: false,
      ignored: false,
      buffers: [],
    };
    if (direction === 'tx') this.prelude = [];
    this.open.add(j);
    return j;
  }

  private step(j: Open, stage: StageName, index: number, time: number): void {
    const prev = j.steps[j.steps.length - 1];
    if (prev && prev.verdict.kind === 'held') {
      prev.held = true;
      prev.verdict = { kind: 'forwarded' };
    }
    const step: JourneyStep = { stage, time, verdict: { kind: 'forwarded' } };
    j.steps.push(step);
    j.lastIndex = index;
    j.lastTime = time;
    if (j.decided && !j.ignored) this.emit({ type: 'step', journey: j, step });
  }

  /** The first whole frame: the filter decides, the summary and the flow are taken. */
  private decide(j: Open, hit: ProbeHit): void {
    j.decided = true;
    const filter = this.options.filter;
    if (filter && !filter.matches(hit)) {
      j.ignored = true;
      // Its later stages need no hit where only recorders listen: the cost of a filter that says no.
      j.passedOver = true;
      this.hub.passOverFrame(hit.frame);
      j.steps.length = 0;
      j.nat = undefined;
      return;
    }
    const frame = hit.frame;
    this.hub.keepFrame(frame);
    j.summary = summarize(frame);
    j.frame = frame.slice();
    j.fragmentOf = fragmentId(frame);
    const key = flowKey(frame, j.direction === 'rx');
    if (key !== undefined) {
      if (j.direction === 'tx') {
        if (this.txByFlow.size >= MAX_FLOWS) this.txByFlow.clear();
        this.txByFlow.set(key, j);
      } else {
        const request = this.txByFlow.get(key);
        if (request) {
          j.replyTo = request.id;
          request.replies.push(j.id);
          // Answered by the stack: nothing more will happen to the request.
          if (!request.ignored && !TX_SOCKET.has(request.steps[request.steps.length - 1]!.stage)) this.close(request);
        }
      }
    }
    this.emit({ type: 'start', journey: j });
    for (const step of j.steps) this.emit({ type: 'step', journey: j, step });
  }

  // ---- drops and holds ----

  private onDrop(d: DropEvent): void {
    const time = this.options.clock.now();
    const { direction, index } = stagePosition(d.stage);
    let j = d.frame ? this.byBuffer.get(d.frame) : undefined;
    if (!j) {
      const latest = this.latest[direction];
      if (latest && !latest.closed && latest.lastIndex <= index && (!d.frame || latest.buffers.length === 0)) j = latest;
    }
    if (j?.ignored) {
      this.close(j);
      return;
    }
    if (j && !j.closed) {
      const last = j.steps[j.steps.length - 1];
      if (last?.stage !== d.stage) this.step(j, d.stage, index, time);
      j.steps[j.steps.length - 1]!.verdict = { kind: 'dropped', reason: d.reason };
      if (!j.decided) {
        j.decided = true;
        if (this.options.filter && !(d.frame && this.options.filter.matchesFrame(d.frame))) {
          j.ignored = true;
          this.close(j);
          return;
        }
        j.summary = d.frame ? summarize(d.frame) : '(frame not seen whole)';
        this.emit({ type: 'start', journey: j });
      }
      this.close(j);
    }
    const journey = j && !j.ignored ? j : undefined;
    const summary = journey?.summary ?? (d.frame && d.frame.length > 0 ? summarize(d.frame) : undefined);
    this.emit({ type: 'drop', stage: d.stage, reason: d.reason, time, ...(journey ? { journey } : {}), ...(summary ? { summary } : {}) });
  }

  private onHold(held: HeldPacket): void {
    const j = held.hit.frame.length > 0 ? this.byBuffer.get(held.hit.frame) : this.latest[stagePosition(held.probe.stage).direction];
    const last = j?.steps[j.steps.length - 1];
    if (j && !j.ignored && last?.stage === held.probe.stage) last.verdict = { kind: 'held' };
  }

  /** A network condition holds the frame at the stage it just reached; the journey stays open until the frame goes on. */
  private onConditionHold(hit: ProbeHit, ms: number, by: string): void {
    const j = hit.frame.length > 0 ? this.byBuffer.get(hit.frame) : this.latest[stagePosition(hit.stage).direction];
    const last = j?.steps[j.steps.length - 1];
    if (!j || j.ignored || last?.stage !== hit.stage) return;
    // A duplicate's second copy is held too: the journey tells the first.
    last.delayed ??= { ms, by };
    j.lastTime = Math.max(j.lastTime, this.options.clock.now() + ms);
  }

  // ---- closing ----

  private sweep(all: boolean): void {
    const now = this.options.clock.now();
    for (const j of this.open) {
      const last = j.steps[j.steps.length - 1];
      if (all || (now - j.lastTime >= IDLE_MS && last?.verdict.kind !== 'held')) this.close(j);
    }
  }

  private close(j: Open): void {
    if (j.closed) return;
    j.closed = true;
    this.open.delete(j);
    for (const b of j.buffers) if (this.byBuffer.get(b) === j) this.byBuffer.delete(b);
    this.closedLast = { journey: j, buffers: j.buffers };
    j.buffers = [];
    if (this.latest[j.direction] === j) this.latest[j.direction] = undefined;
    if (j.ignored || !j.decided) return;
    const last = j.steps[j.steps.length - 1];
    if (last && last.verdict.kind === 'forwarded') last.verdict = this.ending(j, last.stage);
    this.emit({ type: 'end', journey: j });
  }

  /** How a journey that was not dropped or held ended, from where it stopped. */
  private ending(j: Open, stage: StageName): JourneyStep['verdict'] {
    if (j.direction === 'tx') {
      if (TX_SOCKET.has(stage)) return { kind: 'sent' };
      if (j.replies.length > 0) return { kind: 'answered' };
      if (stage === 'ip_input' && j.fragmentOf !== undefined) return { kind: 'reassembled', datagram: j.fragmentOf };
      return { kind: 'accepted' };
    }
    if (stage === 'set_ics' || stage === 'e1000_receive_iov' || (this.options.engine === 'qemu' && stage === 'net_slirp_send_packet')) return { kind: 'delivered' };
    return { kind: 'queued' };
  }

  private emit(e: RecorderEvent): void {
    for (const l of this.listeners) l(e);
  }
}

function natOf(hit: ProbeHit): Journey['nat'] {
  const s = hit.session!;
  return { session: s.id, protocol: s.protocol, guest: `${s.guestAddr}:${s.guestPort}`, host: `${s.hostAddr}:${s.hostPort}` };
}

/** The IP id of a fragment that is not the last one, else undefined. */
function fragmentId(f: Uint8Array): number | undefined {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return undefined;
  const more = (f[20]! & 0x20) !== 0;
  return more ? (f[18]! << 8) | f[19]! : undefined;
}

/**
 * The flow of a frame, written from the guest's side (a reply's reversed), so
 * a request and its reply give the same key: "6 10.0.2.15:40000>10.0.2.2:80"
 * as numbers, "1 src>dst id" for ICMP, the xid for DHCP, the addresses for ARP.
 */
function flowKey(f: Uint8Array, reply: boolean): string | undefined {
  if (f.length < 14) return undefined;
  const type = (f[12]! << 8) | f[13]!;
  if (type === 0x0806 && f.length >= 42) {
    const sender = get32(f, 28);
    const target = get32(f, 38);
    return reply ? `arp ${target}>${sender}` : `arp ${sender}>${target}`;
  }
  if (type !== 0x0800 || f.length < 34) return undefined;
  const l4 = 14 + (f[14]! & 15) * 4;
  const proto = f[23]!;
  let src = `${get32(f, 26)}`;
  let dst = `${get32(f, 30)}`;
  if (proto === 1 && f.length >= l4 + 8) return `1 ${reply ? `${dst}>${src}` : `${src}>${dst}`} ${(f[l4 + 4]! << 8) | f[l4 + 5]!}`;
  if ((proto !== 6 && proto !== 17) || f.length < l4 + 4) return undefined;
  const sport = (f[l4]! << 8) | f[l4 + 1]!;
  const dport = (f[l4 + 2]! << 8) | f[l4 + 3]!;
  if (proto === 17 && (sport === 67 || sport === 68) && f.length >= l4 + 16) return `dhcp ${get32(f, l4 + 12)}`;
  src += `:${sport}`;
  dst += `:${dport}`;
  return `${proto} ${reply ? `${dst}>${src}` : `${src}>${dst}`}`;
}

function get32(f: Uint8Array, o: number): number {
  return ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
}

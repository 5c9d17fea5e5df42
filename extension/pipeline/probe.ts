import { DropLedger } from './drop-ledger';
import { ROUTE_END, STAGE_NUMBER, StageTrail, TRAIL_LENGTH, type RouteMark } from './route';
import { STAGES, type StageName } from './stages';

/** What the e1000 knows of a frame at a NIC stage (shown in the debugger). */
export interface DescriptorInfo {
  readonly ring: 'tx' | 'rx';
  readonly index: number;
  /** Guest-physical address of the descriptor. */
  readonly address: number;
  /** Decoded fields, e.g. { kind: 'data', length: 1514, cmd: 0x2b, status: 1 }. */
  readonly fields: Readonly<Record<string, number | string | boolean>>;
}

/** What the NAT table knows of the frame's flow (shown in the debugger, matched by filters). */
export interface SessionInfo {
  readonly id: number;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly state: string;
  readonly guestAddr: string;
  readonly guestPort: number;
  readonly hostAddr: string;
  readonly hostPort: number;
}

/** One frame crossing one stage. `frame` is the live buffer: copy it to keep it. */
export interface ProbeHit {
  readonly stage: StageName;
  readonly frame: Uint8Array;
  readonly descriptor?: DescriptorInfo;
  readonly session?: SessionInfo;
  /**
   * For the socket stages (sosend, soread): the stream bytes written to or read
   * from the host socket. Their `frame` is empty: no frame carries them there.
   */
  readonly payload?: Uint8Array;
  /** For stages that see a register access rather than a frame (address_space_rw, e1000_mmio_write). */
  readonly register?: { readonly offset: number; readonly value: number; readonly write: boolean };
}

/**
 * A listener returns 'hold' to stop the packet at this stage: the caller then
 * drops out, and the packet continues only when the hub calls the `resume`
 * function it was given.
 */
export type ProbeListener = (hit: ProbeHit) => 'hold' | void;

/**
 * Network conditions at a stage (netem rules, pipeline/netem): `take` returns
 * false to let the packet go on now, or true when it took it, to drop it or to
 * call `release` later (once per copy) to carry it past the stage. Unlike a
 * hold, taking a packet never pauses the machine.
 */
export interface PacketConditioner {
  take(hit: ProbeHit, release: () => void): boolean;
}

/**
 * A probe sits at the entry of one stage. The hot path pays a counter and one
 * branch when nothing listens:
 *
 *     const p = probes.slirp_input;
 *     if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.slirp_input(frame))) return;
 *
 * The hit object and the resume closure are only built when the probe is armed.
 */
export class Probe {
  armed = false;
  /** Times listeners were consulted here (while armed), resumes included. */
  hits = 0;
  /**
   * Frames that reached this stage, armed or not (the Pipeline Stages view's
   * always-on counter). A held frame resumed past the stage is counted once.
   */
  packets = 0;
  private listeners: ProbeListener[] = [];
  /** How many listeners want every frame, passed over or not. */
  private wantAll = 0;
  /** A listener wanting every frame, or conditions, are here. */
  private firesAll = false;
  private conditioner: PacketConditioner | undefined;
  /** The frame being resumed past a hold here: it must not stop here a second time (conditions still apply). */
  private resuming: Uint8Array | undefined;
  /** The frame a conditioner is releasing past this probe: nothing here applies to it again. */
  private releasing: Uint8Array | undefined;
  /** Where enter() notes this stage for a stop's route (route.ts), and as what. */
  private readonly trail: StageTrail;
  private readonly number: number;

  constructor(readonly stage: StageName, private readonly hub: ProbeHub) {
    this.trail = hub.trail;
    this.number = STAGE_NUMBER.get(stage)!;
  }

  /**
   * A frame reaches the stage: true when something listens and the site must
   * `fire`. Unarmed, the frame is counted here; armed, `fire` counts it. A
   * frame the hub passes over (ProbeHub.passOver) is only counted where
   * nothing but such listeners listen: no hit is built for it. The stage is
   * noted in the hub's trail, armed or not: a stop's route is read from it.
   */
  enter(frame?: Uint8Array): boolean {
    const trail = this.trail;
    trail.stages[trail.at++ & (TRAIL_LENGTH - 1)] = this.number;
    if (this.armed && (this.firesAll || frame === undefined || frame !== this.hub.passOver)) return true;
    this.packets++;
    return false;
  }

  /** Returns true when the packet is held or taken; `resume` will be called to carry on. */
  fire(hit: ProbeHit, resume?: () => void): boolean {
    this.hits++;
    const frame = hit.frame;
    if (this.releasing !== undefined && this.releasing === frame) {
      this.releasing = undefined;
      return false;
    }
    if (this.resuming !== undefined && this.resuming === frame) {
      this.resuming = undefined;
    } else {
      this.packets++;
      let hold = false;
      for (const l of this.listeners) if (l(hit) === 'hold') hold = true;
      if (hold && resume) {
        this.hub.hold(this, hit, () => {
          this.resuming = frame;
          resume();
        });
        return true;
      }
    }
    const conditioner = this.conditioner;
    if (!conditioner || !resume) return false;
    return conditioner.take(hit, () => {
      this.releasing = frame;
      try {
        resume();
      } finally {
        // A resume that does not come back through this probe must not leave the mark behind.
        this.releasing = undefined;
      }
    });
  }

  /**
   * `passOver`: the listener (a journey recorder) does not need the frames
   * the hub passes over; every other listener sees every frame.
   */
  listen(listener: ProbeListener, options: { passOver?: boolean } = {}): () => void {
    const all = options.passOver !== true;
    this.listeners.push(listener);
    if (all) this.wantAll++;
    this.rearm();
    return () => {
      const before = this.listeners.length;
      this.listeners = this.listeners.filter((l) => l !== listener);
      if (all && this.listeners.length < before) this.wantAll--;
      this.rearm();
    };
  }

  /** Puts network conditions on this stage (undefined takes them off). */
  condition(conditioner: PacketConditioner | undefined): void {
    this.conditioner = conditioner;
    this.rearm();
  }

  private rearm(): void {
    this.armed = this.listeners.length > 0 || this.conditioner !== undefined;
    this.firesAll = this.wantAll > 0 || this.conditioner !== undefined;
  }
}

export interface HeldPacket {
  readonly probe: Probe;
  readonly hit: ProbeHit;
  readonly resume: () => void;
}

/**
 * All probes of one VM. Holding a packet pauses the whole machine through the
 * `onHold` handler the engine installs (v86 stop, QMP stop, host sockets paused).
 */
export class ProbeHub {
  readonly probes: { readonly [K in StageName]: Probe };
  /** Every discard of this VM, by stage and reason (drop-reasons.ts). */
  readonly drops = new DropLedger();
  /** The stages entered lately, in order, whatever the packet: a stop's route (routeTo) is replayed from it. */
  readonly trail = new StageTrail();
  /**
   * A frame every journey recorder found of no interest (its filter said no):
   * stages where only recorders listen let it pass without a hit. One slot:
   * the pipeline carries one frame at a time, each in a buffer of its own.
   */
  passOver: Uint8Array | undefined;
  /** A frame some recorder keeps: no other recorder's "no" passes it over. */
  private kept: Uint8Array | undefined;
  private held: HeldPacket[] = [];
  private holdObservers = new Set<(held: HeldPacket) => void>();
  private releaseObservers = new Set<() => void>();
  private conditionHoldObservers = new Set<(hit: ProbeHit, ms: number, cause: string) => void>();
  private tooBigObservers = new Set<(hit: ProbeHit, mtu: number) => void>();
  onHold: (held: HeldPacket) => void = () => {};

  constructor() {
    const probes = {} as Record<StageName, Probe>;
    for (const s of STAGES) probes[s.name] = new Probe(s.name, this);
    this.probes = probes;
  }

  /** A recorder's filter said yes to `frame` (or it keeps every frame): it is never passed over. */
  keepFrame(frame: Uint8Array): void {
    this.kept = frame;
    if (this.passOver === frame) this.passOver = undefined;
  }

  /** A recorder's filter said no to `frame`: passed over unless another recorder keeps it. */
  passOverFrame(frame: Uint8Array): void {
    if (this.kept !== frame) this.passOver = frame;
  }

  /** What a socket read led to is done: the stages entered next start routes of their own (routeTo). */
  endRoute(): void {
    const trail = this.trail;
    trail.stages[trail.at++ & (TRAIL_LENGTH - 1)] = ROUTE_END;
  }

  /**
   * What runs next goes on from `route` (markRoute, routeOf) alone, as if its
   * stages had just been entered; no probe counts or fires for them again.
   */
  resumeRoute(route: RouteMark): void {
    this.endRoute();
    const trail = this.trail;
    for (let i = 0; i < route.length; i++) trail.stages[trail.at++ & (TRAIL_LENGTH - 1)] = route[i]!;
  }

  /** A new frame enters the pipeline: neither mark applies to it. */
  newFrame(): void {
    this.passOver = undefined;
    this.kept = undefined;
  }

  hold(probe: Probe, hit: ProbeHit, resume: () => void): void {
    const held = { probe, hit, resume };
    this.held.push(held);
    this.onHold(held);
    for (const observe of this.holdObservers) observe(held);
  }

  /**
   * Tells `observer` of every hold, after the engine's `onHold`: the breakpoint
   * manager learns here that a packet it asked to stop was really held (a stage
   * without a resume closure cannot hold). Returns the unsubscribe function.
   */
  observeHolds(observer: (held: HeldPacket) => void): () => void {
    this.holdObservers.add(observer);
    return () => this.holdObservers.delete(observer);
  }

  /**
   * Tells `observer` after held packets were released: the net queue then
   * delivers the frames that waited behind a held one. Returns the unsubscribe function.
   */
  observeReleases(observer: () => void): () => void {
    this.releaseObservers.add(observer);
    return () => this.releaseObservers.delete(observer);
  }

  /**
   * Tells `observer` of every packet a network condition holds at its stage
   * for `ms` of VM time (the VM runs on), and why ("netem delay"): journeys
   * show the hold. Returns the unsubscribe function.
   */
  observeConditionHolds(observer: (hit: ProbeHit, ms: number, cause: string) => void): () => void {
    this.conditionHoldObservers.add(observer);
    return () => this.conditionHoldObservers.delete(observer);
  }

  conditionHeld(hit: ProbeHit, ms: number, cause: string): void {
    for (const observe of this.conditionHoldObservers) observe(hit, ms, cause);
  }

  /**
   * Tells `observer` of every packet a condition's `mtu` dropped as larger than
   * the link: the stack answers as a router would (ICMP fragmentation needed,
   * ICMPv6 packet too big). Returns the unsubscribe function.
   */
  observeTooBig(observer: (hit: ProbeHit, mtu: number) => void): () => void {
    this.tooBigObservers.add(observer);
    return () => this.tooBigObservers.delete(observer);
  }

  tooBig(hit: ProbeHit, mtu: number): void {
    for (const observe of this.tooBigObservers) observe(hit, mtu);
  }

  /** True while `frame` is held at some stage. */
  isHeld(frame: Uint8Array): boolean {
    return this.held.some((h) => h.hit.frame === frame);
  }

  /** Releases every held packet, oldest first. */
  releaseAll(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) h.resume();
    if (held.length) for (const observe of this.releaseObservers) observe();
  }

  get heldPackets(): readonly HeldPacket[] {
    return this.held;
  }
}

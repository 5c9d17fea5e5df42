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

/** Where a stage sits: its direction and its position in it. */
export interface StagePosition {
  readonly direction: Direction;
  readonly index: number;
}

export function stagePosition(stage: StageName): StagePosition {
  return { direction: stageDirection(stage), index: stageIndex(stage) };
}

/** How many recent frame buffers keep their trail (the net queue rarely holds more). */
const RECENT_FRAMES = 16;

/** The stages of each direction by position, to turn a trail's bit set back into names. */
const DIRECTION_STAGES: Readonly<Record<Direction, readonly StageName[]>> = { tx: TX_STAGES, rx: RX_STAGES };

/**
 * The stages one packet (and the frames derived from it) has crossed in one
 * direction. A packet only moves forward, so the set of stage positions (one
 * bit each, fewer than 32 per direction) is the chain in order: recording a
 * stage is an OR, not an array push.
 */
export interface StageTrail {
  readonly direction: Direction;
  /** Bit i: the packet crossed stage i of its direction. */
  mask: number;
  lastIndex: number;
}

/** The stages of `trail`, oldest first. Allocates: called only when a stop is shown. */
export function trailStages(trail: StageTrail): StageName[] {
  const names = DIRECTION_STAGES[trail.direction];
  const out: StageName[] = [];
  for (let i = 0; i < names.length; i++) if (trail.mask & (1 << i)) out.push(names[i]!);
  return out;
}

/**
 * Follows a stopped packet while it is stepped: seeded at the stop with the
 * route the pipeline took to it (route.ts) and its held frame, it notes the stages
 * the released frame (the same buffer) and the frames made from it reach.
 *
 * It follows packets through the stages cheaply: a frame buffer seen before
 * continues its trail; a new buffer continues the direction's latest trail when
 * it is at a later stage (the pipeline is synchronous, so a frame built from
 * another, like the segment tcp_output makes from soread's bytes, arrives right
 * after it); anything else starts a new trail. A trail whose stage would go
 * backwards belongs to a new packet (buffers are reused by the NIC).
 *
 * While a step is pending this runs at every stage of the direction for every
 * packet, so the common case (the
 * same buffer as the direction's last hit, one stage further) looks nothing up
 * and allocates nothing. The buffers of the last RECENT_FRAMES packets are kept
 * in a small fixed table (not a WeakMap: its writes cost a GC ephemeron each),
 * read only for a buffer that comes back after others (a frame the net queue
 * held); one held for longer continues the direction's latest trail instead.
 */
export class StageChainTracker {
  private readonly recentFrames: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(RECENT_FRAMES).fill(undefined);
  private readonly recentTrails: Array<StageTrail | undefined> = new Array<StageTrail | undefined>(RECENT_FRAMES).fill(undefined);
  private nextSlot = 0;
  private latestTx: StageTrail | undefined;
  private latestRx: StageTrail | undefined;
  /** The buffer of the direction's latest hit, and the trail it belongs to. */
  private lastFrameTx: Uint8Array | undefined;
  private lastFrameRx: Uint8Array | undefined;

  /**
   * Starts the trail of a stopped packet: `chain` (one direction, the stopping
   * stage last) is what it crossed, `hit` where it is held. The released frame
   * and those made from it then continue this trail.
   */
  seed(chain: readonly StageName[], hit: ProbeHit): StageTrail {
    const last = chain[chain.length - 1];
    if (last === undefined) throw new Error('an empty stage chain');
    const { direction, index } = stagePosition(last);
    let mask = 0;
    for (const s of chain) mask |= 1 << stageIndex(s);
    const trail: StageTrail = { direction, mask, lastIndex: index };
    const frame = hit.frame;
    const hasFrame = frame.length > 0;
    if (hasFrame) this.remember(frame, trail);
    this.setLatest(direction === 'tx', trail, hasFrame ? frame : undefined);
    return trail;
  }

  note(stage: StageName, hit: ProbeHit): StageTrail {
    return this.noteAt(stagePosition(stage), hit);
  }

  /** note() with the stage's position looked up once, when its probe was armed. */
  noteAt(position: StagePosition, hit: ProbeHit): StageTrail {
    const { direction, index } = position;
    const tx = direction === 'tx';
    const latest = tx ? this.latestTx : this.latestRx;
    const frame = hit.frame;
    const hasFrame = frame.length > 0;
    let trail: StageTrail | undefined;
    /** The buffer already maps to `trail` in the table. */
    let mapped = false;
    if (hasFrame) {
      if (frame === (tx ? this.lastFrameTx : this.lastFrameRx)) {
        trail = latest;
        mapped = true;
      } else {
        trail = this.recentTrail(frame);
      }
      if (trail && (trail.direction !== direction || index <= trail.lastIndex)) {
        trail = undefined;
        mapped = false;
      }
    }
    if (!trail && latest && index > latest.lastIndex) trail = latest;
    if (!trail) trail = { direction, mask: 0, lastIndex: -1 };
    trail.mask |= 1 << index;
    trail.lastIndex = index;
    if (hasFrame && !mapped) this.remember(frame, trail);
    // The fast path above trusts that the last buffer belongs to the latest trail.
    this.setLatest(tx, trail, hasFrame ? frame : undefined);
    return trail;
  }

  /** The direction's latest trail, and the buffer of its latest hit (none for a socket stage). */
  private setLatest(tx: boolean, trail: StageTrail, frame: Uint8Array | undefined): void {
    if (tx) {
      this.latestTx = trail;
      this.lastFrameTx = frame;
    } else {
      this.latestRx = trail;
      this.lastFrameRx = frame;
    }
  }

  private recentTrail(frame: Uint8Array): StageTrail | undefined {
    const frames = this.recentFrames;
    for (let i = 0; i < RECENT_FRAMES; i++) if (frames[i] === frame) return this.recentTrails[i];
    return undefined;
  }

  private remember(frame: Uint8Array, trail: StageTrail): void {
    const frames = this.recentFrames;
    for (let i = 0; i < RECENT_FRAMES; i++) {
      if (frames[i] === frame) {
        this.recentTrails[i] = trail;
        return;
      }
    }
    const slot = this.nextSlot;
    frames[slot] = frame;
    this.recentTrails[slot] = trail;
    this.nextSlot = (slot + 1) % RECENT_FRAMES;
  }
}

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

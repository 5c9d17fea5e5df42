import type { ManualClock } from './manual-clock';

export interface LinkConditions {
  loss: number;
  duplicate: number;
  /** Chance that a segment takes extra delay and so overtakes / is overtaken. */
  reorder: number;
  delayMs: number;
  reorderDelayMs: number;
}

export const PERFECT_LINK: LinkConditions = { loss: 0, duplicate: 0, reorder: 0, delayMs: 1, reorderDelayMs: 0 };

/** One direction of a lossy link: drops, duplicates, reorders and delays, on the manual clock. */
export class LinkDirection {
  sent = 0;
  lost = 0;
  duplicated = 0;
  /** Set to false to cut the link (everything is lost). */
  up = true;

  constructor(
    private readonly clock: ManualClock,
    private readonly random: () => number,
    public conditions: LinkConditions,
    private readonly deliver: (packet: Uint8Array) => void,
  ) {}

  send(packet: Uint8Array): void {
    this.sent++;
    const c = this.conditions;
    if (!this.up || this.random() < c.loss) {
      this.lost++;
      return;
    }
    const copies = this.random() < c.duplicate ? 2 : 1;
    if (copies === 2) this.duplicated++;
    for (let i = 0; i < copies; i++) {
      const extra = this.random() < c.reorder ? 1 + Math.floor(this.random() * c.reorderDelayMs) : 0;
      this.clock.setTimeout(() => this.deliver(packet), c.delayMs + extra + i);
    }
  }
}

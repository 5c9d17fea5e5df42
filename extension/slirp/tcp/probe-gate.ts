import type { Probe, ProbeHit } from '../../pipeline/probe';

/**
 * Keeps a byte stream in order across a probe that may hold: while one chunk is
 * held at a breakpoint, later chunks of the same stream wait behind it, and each
 * meets the probe in its turn when the held one is resumed.
 */
export class ProbeGate {
  private waiting: Array<{ hit: ProbeHit | undefined; run: () => void }> | undefined;
  private heldBytes = 0;

  get busy(): boolean {
    return this.waiting !== undefined;
  }

  /** Bytes waiting behind a held chunk (they count as queued). */
  get waitingBytes(): number {
    let n = this.heldBytes;
    if (this.waiting) for (const w of this.waiting) n += w.hit ? hitBytes(w.hit) : 0;
    return n;
  }

  pass(probe: Probe, hit: ProbeHit, run: () => void): void {
    if (this.waiting) {
      this.waiting.push({ hit, run });
      return;
    }
    this.fire(probe, hit, run);
  }

  private fire(probe: Probe, hit: ProbeHit, run: () => void): void {
    if (probe.enter() && probe.fire(hit, () => this.release(probe, run))) {
      this.waiting ??= [];
      this.heldBytes = hitBytes(hit);
      return;
    }
    run();
  }

  private release(probe: Probe, run: () => void): void {
    this.heldBytes = 0;
    run();
    while (this.waiting && this.waiting.length) {
      const next = this.waiting.shift()!;
      if (next.hit && probe.enter() && probe.fire(next.hit, () => this.release(probe, next.run))) {
        this.heldBytes = hitBytes(next.hit);
        return;
      }
      next.run();
    }
    this.waiting = undefined;
  }

  /** Runs `run` after everything waiting (no probe): e.g. a FIN after held data. */
  then(run: () => void): void {
    if (this.waiting) this.waiting.push({ hit: undefined, run });
    else run();
  }

  clear(): void {
    this.waiting = undefined;
    this.heldBytes = 0;
  }
}

/** Socket stages carry stream bytes as `payload`; others a frame. */
function hitBytes(hit: ProbeHit): number {
  return (hit.payload ?? hit.frame).length;
}

/**
 * Counts of guest input the model refused. The model never throws at the guest:
 * it drops, counts the reason here, and carries on.
 */
export class Refusals {
  readonly counts: Record<string, number> = {};
  /** Called on every refusal, e.g. to log the first of each kind. */
  onRefuse: ((reason: string) => void) | undefined;

  count(reason: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    this.onRefuse?.(reason);
  }

  clear(): void {
    for (const k of Object.keys(this.counts)) delete this.counts[k];
  }
}

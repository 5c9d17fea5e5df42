import type { DropLedger } from '../pipeline/drop-ledger';
import type { DropReason } from '../pipeline/drop-reasons';
import type { StageName } from '../pipeline/stages';

/**
 * Frames the stack refused, counted by reason ('ip-bad-checksum', 'dns-label-loop'...)
 * for slirp's own summary, and reported to the VM's drop ledger with their stage.
 */
export class DropCounter {
  readonly counts: Record<string, number> = Object.create(null) as Record<string, number>;
  total = 0;

  constructor(private readonly ledger?: DropLedger) {}

  /** `stage` only where the reason is decided elsewhere than its usual stage (drop-reasons.ts). */
  count(reason: DropReason, stage?: StageName, frame?: Uint8Array): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    this.total++;
    this.ledger?.drop(reason, stage, frame);
  }
}

/** Frames the stack refused, counted by reason ('ip-bad-checksum', 'dns-label-loop'...). */
export class DropCounter {
  readonly counts: Record<string, number> = Object.create(null) as Record<string, number>;
  total = 0;

  count(reason: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    this.total++;
  }
}

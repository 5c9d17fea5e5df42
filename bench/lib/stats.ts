/** Small statistics for benchmark rounds: medians and ranges, never means of noisy runs. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function median(values: readonly number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary | null {
  const ok = values.filter((v) => Number.isFinite(v));
  if (!ok.length) return null;
  return { median: median(ok), min: Math.min(...ok), max: Math.max(...ok), n: ok.length };
}

/** Rounds to 3 significant digits for tables (keeps integers whole). */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 10 ** digits) return Math.round(v).toString();
  return Number(v.toPrecision(digits)).toString();
}

/** "median [min-max]" as in the notes. */
export function fmtSummary(s: Summary | null | undefined): string {
  if (!s) return '—';
  return s.n > 1 && s.min !== s.max ? `${fmt(s.median)} [${fmt(s.min)}-${fmt(s.max)}]` : fmt(s.median);
}

/** A ratio against a reference, oriented so > 1 always means "better than the reference". */
export function ratio(value: Summary | null | undefined, reference: Summary | null | undefined, higherIsBetter: boolean): number | null {
  if (!value || !reference || !reference.median || !value.median) return null;
  return higherIsBetter ? value.median / reference.median : reference.median / value.median;
}

export function fmtRatio(r: number | null): string {
  return r === null ? '—' : `${r.toFixed(2)}x`;
}

/** Rejects with `what` if `p` has not settled within `ms`: a stuck peer fails the sample instead of hanging the run. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

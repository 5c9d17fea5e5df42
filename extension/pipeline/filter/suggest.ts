import { FIELD_CATALOG } from '../dissect/catalog';

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest known field name, when one is close enough to be a typo. */
export function suggestField(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  for (const f of FIELD_CATALOG) {
    const d = editDistance(lower, f.name);
    if (d < bestDistance) { best = f.name; bestDistance = d; }
  }
  const limit = Math.max(2, Math.floor(name.length / 4));
  return bestDistance <= limit ? best : undefined;
}

/** The closest of `candidates` to `name`, when close enough to be a typo. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c);
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

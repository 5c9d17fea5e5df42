/**
 * Hit conditions as VS Code sends them: "5" (the 5th hit, like "== 5"),
 * "== 5", ">= 5", "> 5", "< 3", "<= 3", "% 10" (every 10th). The count is of
 * hits whose condition held, as in js-debug.
 */
export type HitPredicate = (count: number) => boolean;

const HIT_CONDITION = /^\s*(==?|>=|<=|>|<|%)?\s*(\d+)\s*$/;

export function parseHitCondition(text: string): HitPredicate | string {
  const m = HIT_CONDITION.exec(text);
  if (!m) return `invalid hit condition '${text}': use N, == N, >= N, > N, < N, <= N or % N`;
  const n = Number(m[2]);
  switch (m[1]) {
    case undefined: case '=': case '==': return (c) => c === n;
    case '>=': return (c) => c >= n;
    case '<=': return (c) => c <= n;
    case '>': return (c) => c > n;
    case '<': return (c) => c < n;
    case '%': return n === 0 ? 'invalid hit condition: % 0 never matches' : (c) => c % n === 0;
  }
  return `invalid hit condition '${text}'`;
}

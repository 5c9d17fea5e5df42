/**
 * Coverage feedback from istanbul's counters (the instrumented bundle counts
 * every statement and every branch arm in a global object). An input is
 * interesting when it reaches a statement never reached, or drives a branch arm
 * a number of times never seen in its bucket (1, 2, 3, 4-7, 8-15, 16-31, 32-127,
 * 128+: AFL's hit-count buckets, so a loop run more often than before counts as
 * new, which is how the fuzzer climbs towards long option runs and deep chains).
 * Counters are zeroed after each input.
 */
export const COVERAGE_VARIABLE = '__usernetFuzzCoverage';

interface FileCoverage {
  s: Record<string, number>;
  b: Record<string, number[]>;
}

const BUCKETS = 8;

function bucket(n: number): number {
  if (n <= 3) return n - 1;
  if (n < 8) return 3;
  if (n < 16) return 4;
  if (n < 32) return 5;
  if (n < 128) return 6;
  return 7;
}

export class CoverageMap {
  private readonly files: { s: Record<string, number>; statements: number; b: Record<string, number[]>; branches: string[]; sBase: number; bBase: number[] }[] = [];
  private readonly seen: Uint8Array;
  private covered = 0;

  constructor(global: Record<string, FileCoverage>) {
    let next = 0;
    for (const file of Object.values(global)) {
      const statements = Object.keys(file.s).length;
      const sBase = next;
      next += statements;
      const branches = Object.keys(file.b);
      const bBase = branches.map((k) => {
        const base = next;
        next += file.b[k]!.length * BUCKETS;
        return base;
      });
      this.files.push({ s: file.s, statements, b: file.b, branches, sBase, bBase });
    }
    this.seen = new Uint8Array(next);
  }

  /** Features seen so far. */
  get features(): number {
    return this.covered;
  }

  /** Counts the features the last input reached for the first time, and zeroes the counters. */
  collect(): number {
    let fresh = 0;
    const seen = this.seen;
    for (const f of this.files) {
      const s = f.s;
      for (let k = 0; k < f.statements; k++) {
        if (s[k] === 0) continue;
        s[k] = 0;
        if (seen[f.sBase + k] === 0) {
          seen[f.sBase + k] = 1;
          fresh++;
        }
      }
      for (let j = 0; j < f.branches.length; j++) {
        const arms = f.b[f.branches[j]!]!;
        for (let a = 0; a < arms.length; a++) {
          const n = arms[a]!;
          if (n === 0) continue;
          arms[a] = 0;
          const feature = f.bBase[j]! + a * BUCKETS + bucket(n);
          if (seen[feature] === 0) {
            seen[feature] = 1;
            fresh++;
          }
        }
      }
    }
    this.covered += fresh;
    return fresh;
  }
}

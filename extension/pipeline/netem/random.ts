/**
 * Seeded randomness for network conditions: the same seed and the same
 * traffic give the same decisions, so a failure seen once can be replayed.
 * The generator is pure-rand's xoroshiro128+ (fast-check's, well kept); each
 * rule draws from its own stream so adding a rule does not shift another's.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A uniform source in [0, 1). */
export type Uniform = () => number;

/** splitmix32's finaliser: neighbouring seeds (1, 2, 3 ...) give unrelated streams. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
}

/** The stream of rule number `index` under `seed`. */
export function ruleRandom(seed: number, index: number): Uniform {
  const rng = xoroshiro128plus(mix(mix(seed) + Math.imul(index + 1, 0x9e3779b9)));
  // xoroshiro's first outputs echo a small seed's bits.
  for (let i = 0; i < 8; i++) rng.next();
  return () => uniformFloat64(rng);
}

/** A seed for runs that did not ask for one (shown to the user so the run can be replayed). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff) + 1;
}

/**
 * A draw correlated with the previous one: with probability `correlation` the
 * last value comes again, else a fresh one. Losses then come in bursts while
 * the rate stays the one asked for (netem's own formula, a weighted mean of
 * draws, narrows the distribution and so loses fewer packets than asked).
 */
export class CorrelatedRandom {
  private last: number;

  constructor(private readonly uniform: Uniform, private readonly correlation: number) {
    this.last = uniform();
  }

  next(): number {
    if (this.correlation > 0 && this.uniform() < this.correlation) return this.last;
    this.last = this.uniform();
    return this.last;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }
}

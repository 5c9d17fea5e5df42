/**
 * The mutators' randomness: pure-rand's xoroshiro128+ (as the network
 * conditions use), so a run replays exactly from its seed.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export class SeededRandom {
  private readonly rng: ReturnType<typeof xoroshiro128plus>;

  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed | 0);
    // xoroshiro's first outputs echo a small seed's bits.
    for (let i = 0; i < 8; i++) this.rng.next();
  }

  /** An integer in [0, n); 0 when n <= 1. */
  below(n: number): number {
    return n <= 1 ? 0 : uniformInt(this.rng, 0, n - 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

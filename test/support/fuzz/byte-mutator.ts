/**
 * libFuzzer's mutations, for the coverage-guided engine: bit flips, interesting
 * values, byte runs inserted, erased, duplicated (a repeated option, a chain of
 * labels) or copied from another corpus entry, and the target's dictionary of
 * magic values. Deterministic for a seed, so a run can be replayed.
 */
import { SeededRandom } from './seeded-random';

export class ByteMutator extends SeededRandom {
  constructor(seed: number, private readonly dictionary: readonly Uint8Array[] = []) {
    super(seed);
  }

  /** 1 to 8 stacked mutations of a copy of `input`, never longer than `maxLength`. */
  mutate(input: Uint8Array, corpus: readonly Uint8Array[], maxLength: number): Uint8Array {
    let out: Uint8Array = input.slice();
    const stack = 1 + this.below(8);
    for (let i = 0; i < stack; i++) out = this.once(out, corpus, maxLength);
    return out.length > maxLength ? out.subarray(0, maxLength) : out;
  }

  private once(b: Uint8Array, corpus: readonly Uint8Array[], maxLength: number): Uint8Array {
    const at = () => this.below(b.length);
    switch (this.below(b.length ? 11 : 1) + (b.length ? 0 : 4)) {
      case 0:
        b[at()]! ^= 1 << this.below(8);
        return b;
      case 1:
        b[at()] = this.below(256);
        return b;
      case 2:
        b[at()] = INTERESTING_8[this.below(INTERESTING_8.length)]!;
        return b;
      case 3: {
        if (b.length < 2) return b;
        const v = INTERESTING_16[this.below(INTERESTING_16.length)]!;
        const i = this.below(b.length - 1);
        const big = this.below(2) === 0;
        b[i] = big ? v >> 8 : v & 0xff;
        b[i + 1] = big ? v & 0xff : v >> 8;
        return b;
      }
      case 4: {
        const run = Uint8Array.from({ length: 1 + this.below(16) }, () => this.below(256));
        return insert(b, this.below(b.length + 1), run, maxLength);
      }
      case 5: {
        if (!b.length) return b;
        const from = at();
        const len = 1 + this.below(Math.min(64, b.length - from));
        return concat(b.subarray(0, from), b.subarray(from + len));
      }
      case 6: {
        // A run repeated: what makes an option, a label or a header recur many times.
        if (!b.length) return b;
        const from = at();
        const run = b.slice(from, from + 1 + this.below(Math.min(32, b.length - from)));
        const times = 1 + this.below(this.below(8) === 0 ? 512 : 8);
        const pieces = new Uint8Array(Math.min(run.length * times, Math.max(0, maxLength - b.length)));
        for (let i = 0; i < pieces.length; i++) pieces[i] = run[i % run.length]!;
        return insert(b, from, pieces, maxLength);
      }
      case 7: {
        const other = corpus.length ? corpus[this.below(corpus.length)]! : b;
        if (!other.length) return b;
        const from = this.below(other.length);
        const piece = other.subarray(from, from + 1 + this.below(other.length - from));
        if (this.below(2) === 0) return insert(b, at(), piece, maxLength);
        const to = at();
        b.set(piece.subarray(0, b.length - to), to);
        return b;
      }
      case 8: {
        if (!this.dictionary.length) return b;
        const word = this.dictionary[this.below(this.dictionary.length)]!;
        if (this.below(2) === 0) return insert(b, this.below(b.length + 1), word, maxLength);
        const to = at();
        b.set(word.subarray(0, b.length - to), to);
        return b;
      }
      case 9:
        return b.subarray(0, at()).slice();
      default: {
        // A small add or subtract on one byte: lengths and counts off by a few.
        const i = at();
        b[i] = (b[i]! + (this.below(2) ? 1 : -1) * (1 + this.below(4))) & 0xff;
        return b;
      }
    }
  }
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x3f, 0x40, 0xc0, 16, 32, 64, 100];
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0x00ff, 0x0100, 576, 1500, 1514, 9000, 65535 - 28, 65535 - 20];

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function insert(b: Uint8Array, at: number, piece: Uint8Array, maxLength: number): Uint8Array {
  const room = Math.max(0, maxLength - b.length);
  const part = piece.subarray(0, room);
  if (!part.length) return b;
  const out = new Uint8Array(b.length + part.length);
  out.set(b.subarray(0, at));
  out.set(part, at);
  out.set(b.subarray(at), at + part.length);
  return out;
}

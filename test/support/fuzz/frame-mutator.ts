import { set16 } from '../../../extension/wire/bytes';
import { internetChecksum, transportChecksum } from '../../../extension/wire/checksum';
import { SeededRandom } from './seeded-random';

/**
 * Mutates Ethernet frames for fuzzing the stack, the way libslirp's fuzzers do:
 * random edits to captured or synthesised frames, then the checksums fixed so
 * the mutation reaches past the checksum checks into the parsers behind them.
 * Deterministic for a seed, so a failure can be replayed.
 */
export class FrameMutator extends SeededRandom {
  constructor(seed = 0x9e3779b9) {
    super(seed);
  }

  /** 1-4 random edits of a copy of `frame`; `others` feed splices. Checksums are fixed unless `keepChecksums`. */
  mutate(frame: Uint8Array, others: readonly Uint8Array[] = [], keepChecksums = false): Uint8Array {
    let f: Uint8Array = frame.slice();
    const edits = 1 + this.below(4);
    for (let i = 0; i < edits; i++) f = this.edit(f, others);
    if (!keepChecksums && this.below(8) !== 0) fixChecksums(f);
    return f;
  }

  private edit(f: Uint8Array, others: readonly Uint8Array[]): Uint8Array {
    const interesting = [0, 1, 0x7f, 0x80, 0xff];
    const interesting16 = [0, 1, 0x7fff, 0x8000, 0xffff, f.length, f.length - 14, f.length - 34, f.length + 1];
    // Mutations favour the headers, where the parsing is.
    const at = () => (this.below(4) === 0 ? this.below(Math.max(1, f.length)) : this.below(Math.min(f.length, 64) || 1));
    switch (this.below(9)) {
      case 0: {
        if (f.length) f[at()]! ^= 1 << this.below(8);
        return f;
      }
      case 1: {
        if (f.length) f[at()] = this.pick(interesting);
        return f;
      }
      case 2: {
        if (f.length) f[at()] = this.below(256);
        return f;
      }
      case 3: {
        if (f.length >= 2) set16(f, Math.min(at(), f.length - 2), this.pick(interesting16) & 0xffff);
        return f;
      }
      case 4:
        return f.slice(0, this.below(f.length + 1));
      case 5: {
        const extra = Uint8Array.from({ length: 1 + this.below(64) }, () => this.below(256));
        const out = new Uint8Array(f.length + extra.length);
        out.set(f);
        out.set(extra, f.length);
        return out;
      }
      case 6: {
        const o = others.length ? this.pick(others) : f;
        if (!o.length || !f.length) return f;
        const from = this.below(o.length);
        const len = Math.min(o.length - from, 1 + this.below(32));
        const to = this.below(f.length);
        f.set(o.subarray(from, from + Math.min(len, f.length - to)), to);
        return f;
      }
      case 7: {
        // The IPv4 flags/fragment offset, to reach reassembly.
        if (f.length >= 22) set16(f, 20, (this.below(2) ? 0x2000 : 0) | this.below(64));
        return f;
      }
      default: {
        // The IPv4 header length nibble.
        if (f.length > 14) f[14] = (f[14]! & 0xf0) | this.below(16);
        return f;
      }
    }
  }
}

/** Recomputes the IPv4 header checksum and the ICMP/UDP/TCP checksum wherever the lengths allow. */
export function fixChecksums(f: Uint8Array): void {
  if (f.length < 34 || f[12] !== 8 || f[13] !== 0) return;
  const ip = f.subarray(14);
  const hl = (ip[0]! & 15) * 4;
  if (hl < 20 || hl > ip.length) return;
  set16(ip, 10, 0);
  set16(ip, 10, internetChecksum(ip, 0, hl));
  const total = (ip[2]! << 8) | ip[3]!;
  if (total < hl || total > ip.length) return;
  // Only whole datagrams: a fragment's transport checksum covers bytes it does not hold.
  if (((ip[6]! & 0x3f) | ip[7]!) !== 0) return;
  const seg = ip.subarray(hl, total);
  const src = ((ip[12]! << 24) | (ip[13]! << 16) | (ip[14]! << 8) | ip[15]!) >>> 0;
  const dst = ((ip[16]! << 24) | (ip[17]! << 16) | (ip[18]! << 8) | ip[19]!) >>> 0;
  switch (ip[9]) {
    case 1:
      if (seg.length >= 4) {
        set16(seg, 2, 0);
        set16(seg, 2, internetChecksum(seg));
      }
      return;
    case 17: {
      if (seg.length < 8) return;
      const len = (seg[4]! << 8) | seg[5]!;
      if (len < 8 || len > seg.length) return;
      const u = seg.subarray(0, len);
      set16(u, 6, 0);
      const sum = transportChecksum(src, dst, 17, u);
      set16(u, 6, sum === 0 ? 0xffff : sum);
      return;
    }
    case 6:
      if (seg.length >= 20) {
        set16(seg, 16, 0);
        set16(seg, 16, transportChecksum(src, dst, 6, seg));
      }
      return;
  }
}

/**
 * Targets that check the fuzzer itself (test/fuzz/engine.test.ts): a crash
 * behind four nested byte comparisons, which blind mutation almost never reaches
 * (one chance in 2^32 per input) and coverage feedback reaches step by step; and
 * an input that never returns.
 */
import type { FuzzTarget } from './targets/target';

export const targets: Record<string, FuzzTarget> = {
  magic: {
    about: 'throws on inputs starting with "FUZ!"',
    maxLength: 64,
    open: () => ({
      run(d: Uint8Array): void {
        if (d[0] === 0x46) {
          if (d[1] === 0x55) {
            if (d[2] === 0x5a) {
              if (d[3] === 0x21) throw new Error('reached the magic bytes');
            }
          }
        }
      },
      close() {},
    }),
  },
  hang: {
    about: 'never returns on an input whose first byte is 7',
    maxLength: 16,
    open: () => ({
      run(d: Uint8Array): void {
        while (d[0] === 7) d = d.subarray(0);
      },
      close() {},
    }),
  },
};

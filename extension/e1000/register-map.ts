import { REG, STATS_FIRST, STATS_LAST } from './registers';

/** Ranges (inclusive, byte offsets) of register arrays. */
const ARRAYS: ReadonlyArray<readonly [number, number]> = [
  [REG.MTA, REG.MTA + 0x1fc],
  [REG.RA, REG.RA + 0x7c],
  [REG.VFTA, REG.VFTA + 0x1fc],
  [REG.IP4AT, REG.IP4AT + 0x1c],
  [REG.IP6AT, REG.IP6AT + 0x0c],
  [REG.WUPM, REG.WUPM + 0x7c],
  [REG.FFLT, REG.FFLT + 0x1c],
  [REG.FFMT, REG.FFMT + 0x3fc],
  [REG.FFVT, REG.FFVT + 0x3fc],
  [STATS_FIRST, STATS_LAST],
];

const SINGLE = new Set<number>(Object.values(REG));

/** Registers of the 82540EM; writes elsewhere are kept (so they read back) but counted. */
export function isKnownRegister(offset: number): boolean {
  if (SINGLE.has(offset)) return true;
  for (const [lo, hi] of ARRAYS) if (offset >= lo && offset <= hi) return true;
  return false;
}

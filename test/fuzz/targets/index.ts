/** Every fuzz target by name: the instrumented bundle's entry and the regression tests' list. */
import { e1000 } from './e1000';
import { slirpTargets } from './slirp-targets';
import { streamFraming } from './stream-framing';
import type { FuzzTarget } from './target';

export const targets: Record<string, FuzzTarget> = {
  ...slirpTargets,
  'stream-framing': streamFraming,
  e1000,
};

/** `--trace 'STAGE [if EXPR]'`: one line on stderr per packet crossing a stage, without stopping it. */
import type { Clock } from '../pipeline/clock';
import type { ProbeHit, ProbeHub } from '../pipeline/probe';
import { describeHitBriefly, startTrace } from '../pipeline/trace';

/** "    12.345 ms  udp_input  0.0.0.0:68 -> 255.255.255.255:67 DHCP Discover" */
export function formatCliTraceLine(ms: number, hit: ProbeHit): string {
  return `${ms.toFixed(3).padStart(10)} ms  ${hit.stage}  ${describeHitBriefly(hit)}`;
}

/**
 * Starts every trace; times are VM milliseconds (the clock stands still while
 * the VM is stopped at a breakpoint) since this call. Returns the function that
 * ends them all.
 */
export function startCliTraces(vm: { probes: ProbeHub; clock: Clock }, specs: readonly string[], write: (line: string) => void): () => void {
  const t0 = vm.clock.now();
  const stops = specs.map((spec) => startTrace(vm.probes, spec, (_line, hit) => write(formatCliTraceLine(vm.clock.now() - t0, hit)), vm.clock));
  return () => {
    for (const stop of stops) stop();
  };
}

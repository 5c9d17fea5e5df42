import type { Clock } from './clock';
import { summarize } from './dissect/summarize';
import { compileFilter, FilterSyntaxError, type CompiledFilter } from './filter';
import { closestName } from './filter/suggest';
import type { ProbeHit, ProbeHub } from './probe';
import { STAGES, isStageName, type StageName } from './stages';

/**
 * GDB's `dprintf`, for packets: `trace('tcp_input if tcp.flags.syn == 1', line => ...)`
 * prints "time stage summary" for every matching packet without stopping it.
 * `*` traces every stage.
 */
export interface TraceSpec {
  readonly stages: StageName[];
  readonly filter?: CompiledFilter;
}

/** Throws FilterSyntaxError (columns counted in the whole spec) or Error for an unknown stage. */
export function parseTraceSpec(spec: string): TraceSpec {
  const head = /^\s*(\S+)\s*/.exec(spec);
  if (!head) throw new Error(`expected 'STAGE [if EXPR]', got '${spec}'`);
  const stage = head[1]!;
  let stages: StageName[];
  if (stage === '*' || stage === 'all') stages = STAGES.map((s) => s.name);
  else if (isStageName(stage)) stages = [stage];
  else throw new Error(unknownStageMessage(stage));
  const rest = spec.slice(head[0].length);
  if (rest === '') return { stages };
  const ifWord = /^if(\s+|$)/.exec(rest);
  if (!ifWord) throw new FilterSyntaxError(`expected 'if' after the stage, got '${rest.split(/\s/)[0]}'`, head[0].length + 1, rest, "'if'");
  const exprOffset = head[0].length + ifWord[0].length;
  if (spec.slice(exprOffset).trim() === '') throw new FilterSyntaxError(`expected a condition after 'if'`, spec.length + 1, '', 'a condition');
  try {
    return { stages, filter: compileFilter(spec.slice(exprOffset)) };
  } catch (err) {
    if (!(err instanceof FilterSyntaxError)) throw err;
    throw new FilterSyntaxError(err.reason, err.column + exprOffset, err.token, err.expected, err.kind, err.unknownFields);
  }
}

export function unknownStageMessage(stage: string): string {
  const s = closestName(stage, STAGES.map((x) => x.name));
  return `unknown stage '${stage}'${s ? ` (did you mean '${s}'?)` : ''}`;
}

/** "0.001234 tcp_input 10.0.2.15:40000 -> 10.0.2.2:80 TCP [SYN] seq=0 len=0" */
export function formatTraceLine(seconds: number, hit: ProbeHit): string {
  return `${seconds.toFixed(6)} ${hit.stage} ${describeHitBriefly(hit)}`;
}

export function describeHitBriefly(hit: ProbeHit): string {
  if (hit.frame.length === 0 && hit.register) {
    const r = hit.register;
    return `MMIO ${r.write ? 'write' : 'read'} 0x${r.offset.toString(16).padStart(4, '0')} = 0x${(r.value >>> 0).toString(16).padStart(8, '0')}`;
  }
  if (hit.frame.length === 0 && hit.descriptor) return `${hit.descriptor.ring.toUpperCase()} descriptor ${hit.descriptor.index}`;
  // A stage before the frame is assembled (start_xmit) has none: that is not a truncated frame.
  if (hit.frame.length === 0) return 'no frame at this stage yet';
  return summarize(hit.frame);
}

export function startTrace(hub: ProbeHub, spec: string, onLine: (line: string, hit: ProbeHit) => void, clock?: Clock): () => void {
  const { stages, filter } = parseTraceSpec(spec);
  const now = () => (clock ? clock.now() : performance.now());
  const start = now();
  const stops = stages.map((stage) =>
    hub.probes[stage].listen((hit) => {
      if (filter && !filter.matches(hit)) return;
      onLine(formatTraceLine((now() - start) / 1000, hit), hit);
    }),
  );
  return () => { for (const stop of stops) stop(); };
}

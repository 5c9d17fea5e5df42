/**
 * The pipeline options of `usernet run` (--pcap, --capture-filter, --snaplen,
 * --trace, --break): their parseArgs entries, their help, and their checks.
 * Everything is validated before the guest boots, so a typo costs no boot.
 */
import { compileFilter, FilterSyntaxError } from '../pipeline/filter';
import { DEFAULT_SNAPLEN } from '../pipeline/capture-writer';
import type { StageName } from '../pipeline/stages';
import { parseTraceSpec } from '../pipeline/trace';
import { NETEM_HELP, NETEM_OPTIONS, parseNetemOptions, type NetemPlan } from './netem-options';
import type { JourneyPlan } from './journeys';
import { UsageError } from './usage-error';

export const PIPELINE_OPTIONS = {
  pcap: { type: 'string' },
  'capture-filter': { type: 'string' },
  snaplen: { type: 'string' },
  trace: { type: 'string', multiple: true },
  break: { type: 'string', multiple: true },
  ...NETEM_OPTIONS,
  journey: { type: 'string' },
  drops: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const PIPELINE_HELP = `
packet pipeline (stage names as in QEMU and libslirp; filters in Wireshark's display-filter syntax):
  --pcap FILE          capture every frame at the net queue (qemu_send_packet, qemu_receive_packet)
                       into FILE, as QEMU's filter-dump; counts are printed on exit.
                       FILE.pcapng is pcapng: an interface per capture point and a
                       comment per frame with its journey, stage and NAT mapping
  --capture-filter F   only capture frames matching F, e.g. 'tcp.port == 80 || dns'
  --snaplen N          cut captured frames to N bytes (default ${DEFAULT_SNAPLEN})
  --trace 'STAGE [if F]'
                       print one line per packet at STAGE on stderr: VM milliseconds
                       since the guest was ready, stage, summary. '*' is every stage.
                       Repeatable.
  --break 'STAGE [if F]'
                       stop the VM (CPU, clock, host sockets) when a packet matching F
                       reaches STAGE and open a prompt on this terminal: info,
                       info usernet, print FIELD, x, next, continue, delete, quit, help.
                       Repeatable. With --exec the prompt is on stderr and reads stdin.
                       When stdin is not a terminal, commands are read from it line by
                       line (scripts); at its end the breakpoints are deleted and the VM
                       runs on. In the console, a piped stdin then feeds only the prompt.
  --journey F          print the journey of every frame matching F on stderr once it ends:
                       a packet line, then one line per stage crossed (VM seconds, what the
                       stage did: forwarded, answered, sent, delivered, dropped: REASON...),
                       the NAT mapping, and the request a reply answers. '' is every frame.
  --drops              print every discarded frame with its stage and reason
                       (docs/drop-reasons.md lists them)
  --json               --journey and --drops print JSON lines instead
${NETEM_HELP}`;

export interface CapturePlan {
  readonly file: string;
  readonly filter?: string;
  readonly snaplen?: number;
}

export interface BreakPlan {
  /** As typed, for messages and `info breakpoints`. */
  readonly text: string;
  readonly stage: StageName;
  readonly condition?: string;
}

export interface PipelinePlan {
  readonly capture?: CapturePlan;
  /** Validated `STAGE [if EXPR]` specs. */
  readonly traces: readonly string[];
  readonly breaks: readonly BreakPlan[];
  readonly netem: NetemPlan;
  readonly journeys?: JourneyPlan;
}

export interface PipelineValues {
  pcap?: string;
  'capture-filter'?: string;
  snaplen?: string;
  trace?: string[];
  break?: string[];
  netem?: string[];
  'netem-seed'?: string;
  journey?: string;
  drops?: boolean;
  json?: boolean;
}

/** Throws UsageError with one line that says which option is wrong and where. */
export function parsePipelineOptions(values: PipelineValues): PipelinePlan {
  const filterText = values['capture-filter'];
  if (values.pcap === undefined && filterText !== undefined) throw new UsageError('--capture-filter needs --pcap FILE');
  if (values.pcap === undefined && values.snaplen !== undefined) throw new UsageError('--snaplen needs --pcap FILE');
  let capture: CapturePlan | undefined;
  if (values.pcap !== undefined) {
    if (values.pcap.trim() === '') throw new UsageError('--pcap expects a file name');
    if (filterText !== undefined && filterText.trim() !== '') checkFilter('--capture-filter', filterText);
    capture = {
      file: values.pcap,
      ...(filterText?.trim() ? { filter: filterText } : {}),
      ...(values.snaplen !== undefined ? { snaplen: parseSnaplen(values.snaplen) } : {}),
    };
  }
  const traces = (values.trace ?? []).map((spec) => {
    checkStageSpec('--trace', spec);
    return spec;
  });
  const breaks = (values.break ?? []).map(parseBreakSpec);
  if (values.json && values.journey === undefined && !values.drops) throw new UsageError('--json needs --journey FILTER or --drops');
  if (values.journey !== undefined && values.journey.trim() !== '') checkFilter('--journey', values.journey);
  const journeys: JourneyPlan | undefined = values.journey !== undefined || values.drops
    ? { ...(values.journey !== undefined ? { journey: values.journey } : {}), drops: values.drops ?? false, json: values.json ?? false }
    : undefined;
  return { ...(capture ? { capture } : {}), traces, breaks, netem: parseNetemOptions(values), ...(journeys ? { journeys } : {}) };
}

function parseSnaplen(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isInteger(n) || n < 1 || n > DEFAULT_SNAPLEN) {
    throw new UsageError(`--snaplen expects a whole number of bytes from 1 to ${DEFAULT_SNAPLEN}, got '${text}'`);
  }
  return n;
}

function checkFilter(option: string, text: string): void {
  try {
    compileFilter(text);
  } catch (e) {
    if (e instanceof FilterSyntaxError) throw new UsageError(`${option} '${text}': ${e.message}`);
    throw e;
  }
}

/** Stage name and condition, with errors whose columns count in the whole spec. */
function checkStageSpec(option: string, spec: string): void {
  try {
    parseTraceSpec(spec);
  } catch (e) {
    throw new UsageError(`${option} '${spec}': ${(e as Error).message}`);
  }
}

const STAGE_SPEC = /^\s*(\S+)(?:\s+if\s+([\s\S]*?))?\s*$/;

/** `STAGE` or `STAGE if EXPR`, as GDB's `break LOCATION if COND`. */
export function parseBreakSpec(spec: string): BreakPlan {
  if (/^\s*(\*|all)(\s|$)/.test(spec)) throw new UsageError(`--break '${spec}': a breakpoint needs one stage name ('*' is for --trace)`);
  checkStageSpec('--break', spec);
  const m = STAGE_SPEC.exec(spec)!;
  const condition = m[2]?.trim();
  return { text: spec.trim(), stage: m[1] as StageName, ...(condition ? { condition } : {}) };
}

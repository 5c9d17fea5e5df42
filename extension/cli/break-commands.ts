/**
 * The commands of the breakpoint prompt, GDB's words for a held packet:
 * info, info usernet, info breakpoints, print FIELD, bt, x, next, continue,
 * delete, quit, help. Pure: it reads the stop it is given, asks the runtime's
 * evaluator (the Debug Console's) for values, and says what to do; the
 * prompt (break-prompt.ts) does it.
 */
import { EvaluateError } from '../runtime/evaluate';
import type { StopEvent } from '../pipeline/breakpoints';
import type { StageName } from '../pipeline/stages';
import { FilterSyntaxError } from '../pipeline/filter';
import { describeHitBriefly } from '../pipeline/trace';
import { hexdump } from './hexdump';

export type PromptAction = 'continue' | 'step' | 'delete' | 'quit';

export interface PromptResult {
  readonly output?: string;
  readonly error?: string;
  readonly action?: PromptAction;
}

export interface BreakpointRow {
  readonly id: number;
  readonly text: string;
  readonly hits: number;
}

export interface PromptContext {
  readonly stop: StopEvent | undefined;
  /** The runtime's answer to an expression (a field, a filter, `info usernet`); throws an EvaluateError. */
  evaluate(expression: string): string;
  breakpoints(): readonly BreakpointRow[];
  /** Where a stage's probe is in the source ("extension/slirp/ip_input.ts:38"), as the debugger's call stack shows it. */
  locate(stage: StageName): string | undefined;
}

export const PROMPT_HELP = [
  'info, i            where the packet stopped: stage, stage chain, summary, descriptor, session',
  'info usernet       the NAT table (QEMU monitor layout)',
  'info breakpoints   the breakpoints and how often they stopped',
  'print F, p F       a field of the packet (udp.dstport, ip.src, dns.qry.name, e1000.index),',
  '                   or a display filter, answered true or false',
  'bt, backtrace      the stages the packet crossed, innermost first, with their source lines',
  'x                  the held frame in hex',
  'next, n            move this packet to its next stage and stop there',
  'continue, c        let the packet and the VM go on',
  'delete, d          delete every breakpoint and continue',
  'quit, q            stop the VM and exit',
  'An empty line repeats next.',
].join('\n');

export function runPromptCommand(line: string, ctx: PromptContext): PromptResult {
  const text = line.trim();
  const [word = '', ...restWords] = text.split(/\s+/);
  const rest = text.slice(word.length).trim();
  switch (word) {
    case '':
      return {};
    case 'help':
    case 'h':
    case '?':
      return { output: PROMPT_HELP };
    case 'continue':
    case 'c':
      return { action: 'continue' };
    case 'next':
    case 'n':
    case 'step':
    case 's':
      return { action: 'step' };
    case 'delete':
    case 'd':
      return { action: 'delete' };
    case 'quit':
    case 'q':
    case 'kill':
      return { action: 'quit' };
    case 'info':
    case 'i':
      return info(restWords[0], ctx);
    case 'print':
    case 'p':
      return print(rest, ctx);
    case 'bt':
    case 'backtrace':
    case 'where':
      return ctx.stop ? { output: backtrace(ctx.stop, ctx) } : { error: 'no packet is held' };
    case 'x':
      return ctx.stop ? { output: ctx.stop.hit.frame.length ? hexdump(ctx.stop.hit.frame) : '(no frame at this stage)' } : { error: 'no packet is held' };
  }
  return { error: `unknown command '${word}': try 'help'` };
}

function info(what: string | undefined, ctx: PromptContext): PromptResult {
  switch (what) {
    case undefined:
      return ctx.stop ? { output: describeStop(ctx.stop) } : { error: 'no packet is held' };
    case 'usernet':
      return answer(() => ctx.evaluate('info usernet'));
    case 'breakpoints':
    case 'break':
    case 'b': {
      const rows = ctx.breakpoints();
      if (!rows.length) return { output: 'No breakpoints.' };
      return { output: ['Num  Hits  What', ...rows.map((r) => `${String(r.id).padEnd(4)} ${String(r.hits).padStart(4)}  ${r.text}`)].join('\n') };
    }
  }
  return { error: `unknown info command '${what}': info, info usernet or info breakpoints` };
}

function print(expression: string, ctx: PromptContext): PromptResult {
  if (expression === '') return { error: 'print what? e.g. print udp.dstport' };
  return answer(() => `${expression} = ${ctx.evaluate(expression)}`);
}

/** An evaluation's text, or its complaint as the command's error. */
function answer(evaluate: () => string): PromptResult {
  try {
    return { output: evaluate() };
  } catch (e) {
    if (e instanceof EvaluateError || e instanceof FilterSyntaxError) return { error: e.message };
    throw e;
  }
}

/** GDB's `bt` over the stop's stage chain: the frames the debugger's call stack shows, innermost first. */
function backtrace(stop: StopEvent, ctx: PromptContext): string {
  const chain = stop.stageChain;
  return chain.map((_, depth) => {
    const stage = chain[chain.length - 1 - depth]!;
    const where = ctx.locate(stage);
    return `#${depth}  ${stage}${where ? ` at ${where}` : ''}${depth === 0 ? `: ${describeHitBriefly(stop.hit)}` : ''}`;
  }).join('\n');
}

/** What `info` shows, and what the prompt prints when the VM stops. */
export function describeStop(stop: StopEvent): string {
  const { hit } = stop;
  const lines = [
    `stage:       ${hit.stage}`,
    `stage chain: ${stop.stageChain.join(' > ')}`,
    `summary:     ${describeHitBriefly(hit)}${hit.frame.length ? ` (${hit.frame.length} bytes)` : ''}`,
  ];
  const d = hit.descriptor;
  if (d) {
    const fields = Object.entries(d.fields).map(([k, v]) => `${k}=${typeof v === 'number' && k !== 'length' ? `0x${v.toString(16)}` : v}`);
    lines.push(`descriptor:  ${d.ring.toUpperCase()} #${d.index} at 0x${d.address.toString(16).padStart(8, '0')}${fields.length ? ` ${fields.join(' ')}` : ''}`);
  } else {
    lines.push('descriptor:  (none at this stage)');
  }
  const s = hit.session;
  lines.push(s
    ? `session:     #${s.id} ${s.protocol.toUpperCase()} ${s.state} guest ${s.guestAddr}:${s.guestPort} host ${s.hostAddr}:${s.hostPort}`
    : 'session:     (none)');
  return lines.join('\n');
}

/** "Breakpoint 1, udp_input: 0.0.0.0:68 -> 255.255.255.255:67 DHCP Discover" */
export function stopHeadline(stop: StopEvent): string {
  const where = `${stop.hit.stage}: ${describeHitBriefly(stop.hit)}`;
  if (stop.reason === 'breakpoint') return `Breakpoint ${stop.breakpointId}, ${where}`;
  if (stop.reason === 'step') return `Step, ${where}`;
  return `Paused, ${where}`;
}

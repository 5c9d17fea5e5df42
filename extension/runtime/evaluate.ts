/**
 * What the Debug Console, hovers and watches may ask of a stopped packet:
 * a filter field (`tcp.dstport` -> 8080), a whole filter (`udp && ip.dst ==
 * 10.0.2.2` -> true), `info usernet`, `help`.
 */
import { lookupField } from '../pipeline/dissect';
import { compileFilter, evaluateField, FilterSyntaxError } from '../pipeline/filter';
import type { ProbeHit } from '../pipeline/probe';
import { NETEM_HELP } from './netem-control';

export class EvaluateError extends Error {}

export interface EvaluateContext {
  /** The held packet, when the VM is stopped on one. */
  readonly hit: ProbeHit | undefined;
  /** `info usernet`, or undefined when there is no network backend. */
  infoUsernet(): string | undefined;
}

export interface EvaluateResult {
  readonly result: string;
  readonly type?: string;
}

export const HELP_TEXT = [
  'While stopped on a packet:',
  '  FIELD                a Wireshark field of the packet: tcp.dstport, ip.src, dns.qry.name, e1000.index, session.state',
  '  FILTER               a display filter, answered true or false: tcp.flags.syn == 1 && ip.dst == 10.0.2.2',
  '  frame, journey, descriptor, session, stage   what Variables shows, expandable (frame.bytes, journey.tcp_input, session.bytesIn)',
  'At any time:',
  '  info usernet         the NAT table, as the QEMU monitor prints it',
  NETEM_HELP,
  '  help                 this text',
  'Breakpoints: add a function breakpoint named after a stage (tcp_input, udp_input, slirp_input, e1000_send_packet, ...);',
  'its condition is a display filter, its hit count and log message work as usual ({tcp.dstport} in a log message).',
].join('\n');

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

export function evaluateExpression(expression: string, ctx: EvaluateContext, context?: string): EvaluateResult {
  const text = expression.trim();
  if (text === '') throw new EvaluateError('nothing to evaluate: type a field (tcp.dstport), a filter, `info usernet` or `help`');
  if (text === 'help') return { result: HELP_TEXT };
  if (/^info\s+usernet$/.test(text)) {
    const info = ctx.infoUsernet();
    if (info === undefined) throw new EvaluateError('info usernet: this VM has no user-mode network (slirp) backend');
    return { result: info.replace(/\n$/, '') };
  }
  // A protocol name (`tcp`, `dns`) reads best as the filter it also is: true or false.
  const def = FIELD_NAME.test(text) ? lookupField(text) : undefined;
  const isField = def !== undefined && def.type !== 'protocol';
  const hit = ctx.hit;
  if (!hit) {
    throw new EvaluateError(`'${text}' needs a packet: the VM is not stopped at a packet breakpoint`);
  }
  if (text === 'descriptor') throw new EvaluateError(`this packet has no e1000 descriptor at ${hit.stage}: only the NIC's TX stages (process_tx_desc, e1000_send_packet) have one`);
  if (isField) {
    const r = evaluateField(text, hit);
    if (r.values.length === 0) {
      throw new EvaluateError(`this packet has no ${r.name} (${r.description})`);
    }
    return { result: r.display.length === 1 ? r.display[0]! : `[${r.display.join(', ')}]`, type: r.type };
  }
  // Hovering over words that are no field (a comment, a keyword) should stay silent rather than explain filters.
  if (context === 'hover' && FIELD_NAME.test(text) && !text.includes(' ')) {
    throw new EvaluateError(`'${text}' is not a packet field`);
  }
  try {
    return { result: String(compileFilter(text).matches(hit)), type: 'bool' };
  } catch (e) {
    if (e instanceof FilterSyntaxError) throw new EvaluateError(`${e.message}: ${text}`);
    throw e;
  }
}

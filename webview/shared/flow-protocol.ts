/**
 * The message protocol between the flow views' host (extension/ui/flow-panel.ts)
 * and their page (webview/flow/main.ts): the flow graph and the TCP stream
 * graph share it. Both sides check what they receive with these guards; a
 * message that does not fit is dropped and logged.
 */
import type { FlowEndpoints, FlowItem } from '../../extension/pipeline/flow/record';

export type FlowViewKind = 'flow' | 'stream';

/** Extension host -> webview. */
export type FlowHostMessage =
  | { type: 'init'; view: FlowViewKind; title: string; endpoints: FlowEndpoints; live: boolean }
  /** More items (numbered on from the last), and the flow's state now. */
  | { type: 'items'; items: FlowItem[]; forgotten: number; closed: boolean; state: string; host: string }
  /** The packets (their n) the filter keeps; `error` when it does not parse. */
  | { type: 'filtered'; text: string; matches?: number[]; error?: string }
  /** One packet's decode (layer -> field -> text, the Variables view's names) and journey. */
  | { type: 'detail'; n: number; fields: Record<string, Record<string, string>>; journey?: string; error?: string }
  | { type: 'theme' };

/** Webview -> extension host. */
export type FlowWebviewMessage =
  | { type: 'ready' }
  | { type: 'select'; n: number }
  | { type: 'filter'; text: string }
  /** A picture of the view to save: SVG text, or a PNG as base64. */
  | { type: 'export'; format: 'svg' | 'png'; data: string };

export const MAX_FILTER_TEXT = 4096;
export const MAX_EXPORT = 64 * 1024 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;
const isOptional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);
const PROTOCOLS = new Set(['tcp', 'udp', 'icmp', 'other']);
const HOST_EVENTS = new Set(['connect', 'state', 'send', 'recv', 'close']);

function isEndpoints(v: unknown): v is FlowEndpoints {
  return isObject(v) && PROTOCOLS.has(v.protocol as string) && isText(v.guest, 256) && isText(v.slirp, 256) && isText(v.host, 256);
}

export function isFlowItem(v: unknown): v is FlowItem {
  if (!isObject(v) || !isCount(v.n) || !isNumber(v.time)) return false;
  switch (v.kind) {
    case 'packet':
      return (v.direction === 'tx' || v.direction === 'rx') && PROTOCOLS.has(v.protocol as string) && isText(v.summary) && isCount(v.len)
        && isOptional(v.flags, (f) => Array.isArray(f) && f.length <= 9 && f.every((x) => isText(x, 8)))
        && isOptional(v.seq, isCount) && isOptional(v.ack, isCount) && isOptional(v.win, isCount) && isOptional(v.journey, isCount)
        && isOptional(v.retransmission, (r) => typeof r === 'boolean')
        && isOptional(v.drop, (d) => isObject(d) && isText(d.reason, 64) && isText(d.stage, 64));
    case 'host':
      return HOST_EVENTS.has(v.event as string) && isText(v.text, 256) && isOptional(v.bytes, isCount);
    case 'sample':
      return [v.cwnd, v.ssthresh, v.peerWindow, v.srtt, v.inFlight, v.retransmits].every(isNumber);
    default:
      return false;
  }
}

const MAX_ITEMS = 100_000;

export function isFlowHostMessage(v: unknown): v is FlowHostMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'init':
      return (v.view === 'flow' || v.view === 'stream') && isText(v.title, 512) && isEndpoints(v.endpoints) && typeof v.live === 'boolean';
    case 'items':
      return Array.isArray(v.items) && v.items.length <= MAX_ITEMS && v.items.every(isFlowItem) && isCount(v.forgotten)
        && typeof v.closed === 'boolean' && isText(v.state, 64) && isText(v.host, 256);
    case 'filtered':
      return isText(v.text, MAX_FILTER_TEXT) && isOptional(v.matches, (m) => Array.isArray(m) && m.length <= MAX_ITEMS && m.every(isCount)) && isOptional(v.error, isText);
    case 'detail':
      return isCount(v.n) && isObject(v.fields) && Object.values(v.fields).every((l) => isObject(l) && Object.values(l).every((x) => isText(x, 65536)))
        && isOptional(v.journey, (j) => isText(j, 65536)) && isOptional(v.error, isText);
    case 'theme':
      return true;
    default:
      return false;
  }
}

export function isFlowWebviewMessage(v: unknown): v is FlowWebviewMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready':
      return true;
    case 'select':
      return isCount(v.n);
    case 'filter':
      return isText(v.text, MAX_FILTER_TEXT);
    case 'export':
      return (v.format === 'svg' || v.format === 'png') && isText(v.data, MAX_EXPORT) && v.data.length > 0;
    default:
      return false;
  }
}

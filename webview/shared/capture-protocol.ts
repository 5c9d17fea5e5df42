/**
 * Messages between the capture editor (extension/ui/capture-editor.ts) and its
 * page (webview/capture/main.ts). The extension host reads and decodes the
 * file; the page asks for row ranges, a filter, one packet's details or one
 * conversation's flow (shown in the flow view), and shows what it gets. Both sides check every message.
 */
import type { DissectedTree } from '../../extension/pipeline/dissect';
import type { Conversation } from '../../extension/pipeline/capture-file/conversation';
import type { PacketRow } from '../../extension/pipeline/capture-file/packet-list';

export type { PacketRow, Conversation, DissectedTree };

export type CaptureHostMessage =
  /** The file, read: how many packets, and what went wrong reading it, if anything. */
  | { type: 'opened'; fileName: string; format: string; total: number; interfaces: string[]; problem?: string; skipped?: string }
  /** The file could not be read at all. */
  | { type: 'failed'; message: string }
  /** Rows of the filtered list from `start`; `shown` is its length now. */
  | { type: 'rows'; start: number; rows: PacketRow[]; shown: number; generation: number }
  /** The filter is in force (generation counts the lists, so late rows of an old list are ignored). */
  | { type: 'filtered'; filter: string; shown: number; generation: number }
  | { type: 'filterError'; filter: string; message: string; column: number }
  | { type: 'details'; no: number; tree: DissectedTree; comments: string[]; bytes: string /* base64 */; conversation?: Conversation };

export type CaptureWebviewMessage =
  | { type: 'ready' }
  | { type: 'rows'; start: number; count: number }
  | { type: 'filter'; text: string }
  | { type: 'select'; no: number }
  | { type: 'showFlow'; no: number };

/** The page asks for at most this many rows at once (a screen is ~50). */
export const MAX_ROWS_PER_REQUEST = 1000;
export const MAX_FILTER_CHARS = 4096;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isText = (v: unknown, max = 64 * 1024): v is string => typeof v === 'string' && v.length <= max;

export function isCaptureWebviewMessage(v: unknown): v is CaptureWebviewMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready':
      return true;
    case 'rows':
      return isIndex(v.start) && isIndex(v.count) && v.count <= MAX_ROWS_PER_REQUEST;
    case 'filter':
      return isText(v.text, MAX_FILTER_CHARS);
    case 'select':
    case 'showFlow':
      return isIndex(v.no) && v.no >= 1;
    default:
      return false;
  }
}

function isRow(v: unknown): v is PacketRow {
  return isObject(v) && isIndex(v.no) && isText(v.time, 64) && isText(v.source, 256) && isText(v.destination, 256)
    && isText(v.protocol, 64) && isIndex(v.length) && isText(v.info) && isText(v.iface, 1024) && typeof v.commented === 'boolean';
}

const isRows = (v: unknown): v is PacketRow[] => Array.isArray(v) && v.length <= 10_000 && v.every(isRow);

function isTree(v: unknown): v is DissectedTree {
  return isObject(v) && Object.values(v).every((layer) => isObject(layer) && Object.values(layer).every((x) => isText(x)));
}

function isConversation(v: unknown): v is Conversation {
  return isObject(v) && isText(v.key, 512) && isText(v.protocol, 16) && isText(v.a, 256) && isText(v.b, 256) && isText(v.filter, 1024);
}

export function isCaptureHostMessage(v: unknown): v is CaptureHostMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'opened':
      return isText(v.fileName, 4096) && isText(v.format, 16) && isIndex(v.total) && Array.isArray(v.interfaces) && v.interfaces.every((i) => isText(i, 1024))
        && (v.problem === undefined || isText(v.problem)) && (v.skipped === undefined || isText(v.skipped));
    case 'failed':
      return isText(v.message);
    case 'rows':
      return isIndex(v.start) && isRows(v.rows) && isIndex(v.shown) && isIndex(v.generation);
    case 'filtered':
      return isText(v.filter, MAX_FILTER_CHARS) && isIndex(v.shown) && isIndex(v.generation);
    case 'filterError':
      return isText(v.filter, MAX_FILTER_CHARS) && isText(v.message) && isIndex(v.column);
    case 'details':
      return isIndex(v.no) && isTree(v.tree) && Array.isArray(v.comments) && v.comments.every((c) => isText(c))
        && typeof v.bytes === 'string' && (v.conversation === undefined || isConversation(v.conversation));
    default:
      return false;
  }
}

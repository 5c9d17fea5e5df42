/**
 * Messages between the topology panel (extension/ui/topology-panel.ts) and its
 * page (webview/topology/main.ts). Both sides check what they receive: the page
 * names a part and an action only (the extension looks up what they mean in its
 * own model), and an export carries bounded text.
 */
import { FORWARD_ID, type ForwardId } from '../../extension/runtime/topology-forwards';
import { PART_ACTIONS, PART_IDS, type PartAction, type PartId, type TopologyModel } from '../../extension/runtime/topology-model';

export type TopologyHostMessage =
  | { type: 'model'; model: TopologyModel }
  /** No VM: the page says so instead of a stale picture. */
  | { type: 'empty'; message: string };

export type TopologyWebviewMessage =
  | { type: 'ready' }
  | { type: 'action'; part: PartId | ForwardId; action: PartAction }
  /** The picture to save: SVG text, or a PNG as a data: URL. */
  | { type: 'export'; format: 'svg' | 'png'; data: string };

/** An exported picture is at most this many characters (a PNG of the diagram is ~100 kB). */
export const MAX_EXPORT_CHARS = 8 * 1024 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isOneOf = <T extends string>(list: readonly T[], v: unknown): v is T => typeof v === 'string' && (list as readonly string[]).includes(v);
const isText = (v: unknown, max = 512): v is string => typeof v === 'string' && v.length <= max;
const isTextList = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 256 && v.every((s) => isText(s));
const isForwardId = (v: unknown): v is ForwardId => typeof v === 'string' && FORWARD_ID.test(v);
const isCount = (v: unknown) => isObject(v) && Number.isFinite(v.frames) && Number.isFinite(v.bytes);

function isPart(v: unknown): boolean {
  return isObject(v) && isOneOf(PART_IDS, v.id) && (v.kind === 'node' || v.kind === 'link') && isText(v.title)
    && isTextList(v.lines) && isTextList(v.dropLines) && isTextList(v.conditions) && Number.isFinite(v.dropped)
    && (v.toHost === undefined || isCount(v.toHost)) && (v.toGuest === undefined || isCount(v.toGuest))
    && isObject(v.targets);
}

export function isTopologyHostMessage(v: unknown): v is TopologyHostMessage {
  if (!isObject(v)) return false;
  if (v.type === 'empty') return isText(v.message);
  if (v.type !== 'model' || !isObject(v.model)) return false;
  const m = v.model;
  return isText(m.title) && isText(m.state) && Array.isArray(m.parts) && m.parts.length <= PART_IDS.length && m.parts.every(isPart)
    && Array.isArray(m.forwards) && m.forwards.length <= 256
    && m.forwards.every((f) => isObject(f) && (f.kind === 'hostfwd' || f.kind === 'guestfwd') && isForwardId(f.id) && isText(f.label) && isText(f.title) && isObject(f.targets));
}

export function isTopologyWebviewMessage(v: unknown): v is TopologyWebviewMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready':
      return true;
    case 'action':
      return (isOneOf(PART_IDS, v.part) || isForwardId(v.part)) && isOneOf(PART_ACTIONS, v.action);
    case 'export':
      if (!isText(v.data, MAX_EXPORT_CHARS)) return false;
      if (v.format === 'svg') return v.data.includes('<svg');
      return v.format === 'png' && v.data.startsWith('data:image/png;base64,');
    default:
      return false;
  }
}

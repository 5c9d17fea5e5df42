/**
 * The arguments of the custom requests (protocol.ts), checked before anything
 * acts on them: the adapter trusts nothing it is sent. Each check returns the
 * typed arguments or the reason they are refused.
 */
import { isIPv4 } from 'node:net';
import { isSerialInput, isSessionId, type UsernetRequestName, type UsernetRequests } from './protocol';

type Args<K extends UsernetRequestName> = UsernetRequests[K]['args'];
export type Checked<K extends UsernetRequestName> = { ok: true; args: Args<K> } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const ok = <K extends UsernetRequestName>(args: Args<K>): Checked<K> => ({ ok: true, args });
const refuse = <K extends UsernetRequestName>(reason: string): Checked<K> => ({ ok: false, reason });

const MAX_SPEC = 256;
const MAX_RULE = 4096;

export function checkNetem(v: unknown): Checked<'usernet.netem'> {
  const usage = 'netem needs { action: "list" | "clear" } or { action: "add", rule } or { action: "remove", id }';
  if (!isObject(v)) return refuse(usage);
  switch (v.action) {
    case 'list':
    case 'clear':
      return ok({ action: v.action });
    case 'add':
      if (typeof v.rule !== 'string' || v.rule.trim() === '') return refuse('netem add needs { rule: "STAGE [if FILTER]: ACTIONS" }');
      if (v.rule.length > MAX_RULE) return refuse(`netem rule is too long (${v.rule.length} characters)`);
      return ok({ action: 'add', rule: v.rule });
    case 'remove':
      return Number.isSafeInteger(v.id) && (v.id as number) > 0 ? ok({ action: 'remove', id: v.id as number }) : refuse('netem remove needs { id: a positive integer }');
    default:
      return refuse(usage);
  }
}
const MAX_PATH = 4096;
const MAX_FILTER = 4096;
const MAX_SNAPLEN = 262144;

export function checkSerialInput(v: unknown): Checked<'usernet.serialInput'> {
  if (isSerialInput(v)) return ok(v);
  if (!isObject(v) || typeof v.data !== 'string') return refuse('serialInput needs { data: base64 string }');
  if (v.data.length > 64 * 1024) return refuse(`serialInput of ${v.data.length} base64 characters is too large (at most 65536 per request)`);
  return refuse('serialInput data is not base64');
}

export function checkCloseSession(v: unknown): Checked<'usernet.closeSession'> {
  return isSessionId(v) ? ok({ id: v.id }) : refuse('closeSession needs { id: a positive integer session id }');
}

export function checkAddForward(v: unknown): Checked<'usernet.addForward'> {
  if (!isObject(v) || typeof v.spec !== 'string' || v.spec.trim() === '') return refuse('addForward needs { spec: "tcp:127.0.0.1:2222-:22" }');
  if (v.spec.length > MAX_SPEC) return refuse(`addForward spec is too long (${v.spec.length} characters)`);
  return ok({ spec: v.spec.trim() });
}

export function checkRemoveForward(v: unknown): Checked<'usernet.removeForward'> {
  if (!isObject(v)) return refuse('removeForward needs { protocol, hostAddr, hostPort }');
  const { protocol, hostAddr, hostPort } = v;
  if (protocol !== 'tcp' && protocol !== 'udp') return refuse(`removeForward protocol must be 'tcp' or 'udp'`);
  if (typeof hostAddr !== 'string' || !(hostAddr === '' || isIPv4(hostAddr))) return refuse(`removeForward hostAddr must be an IPv4 address`);
  if (!Number.isInteger(hostPort) || (hostPort as number) < 0 || (hostPort as number) > 65535) return refuse('removeForward hostPort must be 0-65535');
  return ok({ protocol, hostAddr, hostPort: hostPort as number });
}

export function checkStartCapture(v: unknown): Checked<'usernet.startCapture'> {
  if (!isObject(v) || typeof v.file !== 'string' || v.file.trim() === '') return refuse('startCapture needs { file: path of the .pcap to write }');
  if (v.file.length > MAX_PATH || v.file.includes('\0')) return refuse('startCapture file is not a usable path');
  const args: Args<'usernet.startCapture'> = { file: v.file };
  if (v.filter !== undefined) {
    if (typeof v.filter !== 'string' || v.filter.length > MAX_FILTER) return refuse('startCapture filter must be a display filter string');
    args.filter = v.filter;
  }
  if (v.snaplen !== undefined) {
    if (!Number.isInteger(v.snaplen) || (v.snaplen as number) < 1 || (v.snaplen as number) > MAX_SNAPLEN) return refuse(`startCapture snaplen must be 1-${MAX_SNAPLEN}`);
    args.snaplen = v.snaplen as number;
  }
  return ok(args);
}

/** For requests without arguments: anything object-like (or nothing) is accepted. */
export function checkNoArgs(v: unknown): Checked<'usernet.stopCapture' | 'usernet.infoUsernet'> {
  return v === undefined || v === null || isObject(v) ? ok({}) : refuse('this request takes no arguments');
}

const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function checkFlow(v: unknown): Checked<'usernet.flow'> {
  if (!isObject(v) || !isSessionId({ id: v.session }) || !isIndex(v.from)) return refuse('flow needs { session: a positive integer session id, from: an item number >= 0 }');
  return ok({ session: v.session as number, from: v.from });
}

export function checkFlowDetail(v: unknown): Checked<'usernet.flowDetail'> {
  if (!isObject(v) || !isSessionId({ id: v.session }) || !isIndex(v.n)) return refuse('flowDetail needs { session: a positive integer session id, n: an item number >= 0 }');
  return ok({ session: v.session as number, n: v.n });
}

export function checkFlowFilter(v: unknown): Checked<'usernet.flowFilter'> {
  if (!isObject(v) || !isSessionId({ id: v.session }) || typeof v.filter !== 'string') return refuse('flowFilter needs { session: a positive integer session id, filter: string }');
  if (v.filter.length > MAX_FILTER) return refuse(`the filter is too long (${v.filter.length} characters)`);
  return ok({ session: v.session as number, filter: v.filter });
}

export function checkRecordFlows(v: unknown): Checked<'usernet.recordFlows'> {
  return isObject(v) && typeof v.on === 'boolean' ? ok({ on: v.on }) : refuse('recordFlows needs { on: boolean }');
}

/**
 * Checks on the bodies of the adapter's custom events (extension/debug/protocol.ts)
 * before the UI trusts them: a body that does not fit is dropped and logged.
 */
import type { ConditionsBody, DropRow, ForwardRow, SessionRow, TopologyBody, UsernetEvents, VmStateBody } from '../debug/protocol';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;
const isShortText = (v: unknown): v is string => typeof v === 'string' && v.length <= 256;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const VM_STATES: ReadonlySet<string> = new Set(['booting', 'running', 'paused', 'stopped', 'failed']);

export function isSessionRow(v: unknown): v is SessionRow {
  return isObject(v)
    && Number.isSafeInteger(v.id)
    && (v.protocol === 'tcp' || v.protocol === 'udp' || v.protocol === 'icmp')
    && isShortText(v.state) && isShortText(v.guest) && isShortText(v.remote) && isShortText(v.host)
    && typeof v.inbound === 'boolean'
    && isCount(v.bytesOut) && isCount(v.bytesIn) && isCount(v.packetsOut) && isCount(v.packetsIn)
    && isCount(v.ageMs) && (v.expiresInMs === undefined || isCount(v.expiresInMs))
    && isCount(v.recvQ) && isCount(v.sendQ);
}

export function isForwardRow(v: unknown): v is ForwardRow {
  return isObject(v)
    && (v.protocol === 'tcp' || v.protocol === 'udp')
    && isShortText(v.hostAddr) && isPort(v.hostPort) && isShortText(v.guestAddr) && isPort(v.guestPort);
}

export function isSessionsBody(v: unknown): v is UsernetEvents['usernet.sessions'] {
  return isObject(v)
    && Array.isArray(v.sessions) && v.sessions.every(isSessionRow)
    && Array.isArray(v.forwards) && v.forwards.every(isForwardRow)
    && (v.closed === undefined || (Array.isArray(v.closed) && v.closed.every(isSessionRow)));
}

export function isStagesBody(v: unknown): v is UsernetEvents['usernet.stages'] {
  return isObject(v) && isObject(v.hits) && Object.values(v.hits).every(isCount)
    && (v.drops === undefined || (Array.isArray(v.drops) && v.drops.length <= MAX_DROP_ROWS && v.drops.every(isDropRow)));
}

/** Stages times reasons, with room to spare: more is not an adapter of ours. */
const MAX_DROP_ROWS = 1024;

function isDropRow(v: unknown): v is DropRow {
  return isObject(v) && isShortText(v.stage) && isShortText(v.reason) && isCount(v.count);
}

export function isVmStateBody(v: unknown): v is VmStateBody {
  return isObject(v)
    && typeof v.state === 'string' && VM_STATES.has(v.state)
    && (v.guestAddress === undefined || isShortText(v.guestAddress))
    && (v.sessionCount === undefined || isCount(v.sessionCount))
    && (v.bootMs === undefined || isCount(v.bootMs))
    && (v.restored === undefined || typeof v.restored === 'boolean')
    && (v.message === undefined || typeof v.message === 'string')
    && (v.capture === undefined || (isObject(v.capture) && typeof v.capture.file === 'string' && v.capture.file.length <= 4096 && isCount(v.capture.packets)));
}

export function isSerialBody(v: unknown): v is UsernetEvents['usernet.serial'] {
  return isObject(v) && Number.isSafeInteger(v.seq) && typeof v.data === 'string' && BASE64.test(v.data);
}

/** The conditions part of a stages event, checked like every event body. */
export function isConditionsBody(v: unknown): v is ConditionsBody {
  return isObject(v) && typeof v.seed === 'number' && Array.isArray(v.rules) && v.rules.length <= 64
    && v.rules.every((r) => isObject(r) && typeof r.id === 'number' && typeof r.text === 'string' && r.text.length <= 4096
      && typeof r.stage === 'string' && isObject(r.counters) && Object.values(r.counters).every((c) => typeof c === 'number'));
}

/** The topology event: short texts, finite counters, a bounded guestfwd list. */
export function isTopologyBody(v: unknown): v is TopologyBody {
  if (!isObject(v) || !isObject(v.link)) return false;
  const l = v.link;
  const ipv6 = v.ipv6;
  return (v.engine === 'embedded' || v.engine === 'qemu')
    && (v.guestMac === undefined || isShortText(v.guestMac))
    && isCount(v.mtu) && isShortText(v.net) && isShortText(v.gateway) && isShortText(v.dns)
    && (ipv6 === undefined || (isObject(ipv6) && isShortText(ipv6.prefix) && isShortText(ipv6.gateway) && isShortText(ipv6.dns)))
    && typeof v.restrict === 'boolean' && typeof v.hostLoopback === 'boolean'
    && Array.isArray(v.guestForwards) && v.guestForwards.length <= 256
    && v.guestForwards.every((f) => isObject(f) && isShortText(f.server) && isShortText(f.target))
    && isCount(l.framesToHost) && isCount(l.bytesToHost) && isCount(l.framesToGuest) && isCount(l.bytesToGuest);
}

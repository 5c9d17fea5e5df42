/**
 * The scopes of a stack frame of a held packet: "Packet" (the decoded layers,
 * the raw bytes behind a memoryReference), "e1000 descriptor", "NAT session"
 * and "Stage".
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { describe, summarize } from '../pipeline/dissect';
import type { ProbeHit } from '../pipeline/probe';
import { STAGE_BY_NAME, type StageName } from '../pipeline/stages';
import type { NatSession } from '../slirp/nat';
import type { VarNode, VariableStore } from './variable-store';

export interface ScopeContext {
  readonly hit: ProbeHit;
  /** The frame's stage (the held stage for the top frame, an earlier one below it). */
  readonly stage: StageName;
  /** Names the held bytes for readMemory ("packet:<n>"). */
  readonly memoryReference: string;
  /** How many frames crossed this stage's probe while it was armed. */
  readonly probeHits: number;
  /** How many times the breakpoint that stopped here was hit, when one did. */
  readonly breakpointHits?: number;
  /** The live NAT entry of the hit's session, for its counters. */
  readonly liveSession?: NatSession;
}

const leaf = (name: string, value: string | number | boolean, evaluateName?: string): VarNode =>
  ({ name, value: String(value), ...(evaluateName ? { evaluateName } : {}) });
const hex = (n: number, width = 8) => `0x${(n >>> 0).toString(16).padStart(width, '0')}`;

/** How many fields a collapsed layer previews on its line. */
const PREVIEW_FIELDS = 3;

export function packetNodes(hit: ProbeHit, memoryReference: string): VarNode[] {
  const frame = hit.frame;
  const nodes: VarNode[] = [
    { name: 'bytes', value: `${frame.length} bytes`, type: 'Uint8Array', memoryReference },
    leaf('summary', frame.length ? summarize(frame) : '(no frame at this stage)'),
  ];
  if (!frame.length) return nodes;
  for (const [layer, fields] of Object.entries(describe(frame))) {
    const entries = Object.entries(fields);
    const preview = entries.slice(0, PREVIEW_FIELDS).map(([k, v]) => `${k.slice(k.lastIndexOf('.') + 1)}=${v}`).join(', ');
    nodes.push({
      name: layer,
      value: entries.length > PREVIEW_FIELDS ? `{${preview}, …}` : `{${preview}}`,
      type: layer,
      children: () => entries.map(([k, v]) => leaf(k, v, k)),
    });
  }
  return nodes;
}

function descriptorNodes(d: NonNullable<ProbeHit['descriptor']>): VarNode[] {
  return [
    leaf('ring', d.ring, 'e1000.ring'),
    leaf('index', d.index, 'e1000.index'),
    leaf('address', hex(d.address), 'e1000.addr'),
    ...Object.entries(d.fields).map(([k, v]) => leaf(k, v, `e1000.${k}`)),
  ];
}

function sessionNodes(s: NonNullable<ProbeHit['session']>, live: NatSession | undefined): VarNode[] {
  const nodes = [
    leaf('id', s.id, 'session.id'),
    leaf('protocol', s.protocol, 'session.protocol'),
    leaf('state', live?.state ?? s.state, 'session.state'),
    leaf('guest', `${s.guestAddr}:${s.guestPort}`),
    leaf('host', `${s.hostAddr}:${s.hostPort}`),
  ];
  if (live) {
    nodes.push(
      leaf('inbound', live.inbound),
      leaf('bytesOut', live.bytesOut),
      leaf('packetsOut', live.packetsOut),
      leaf('bytesIn', live.bytesIn),
      leaf('packetsIn', live.packetsIn),
      leaf('recvQ', live.recvQ),
      leaf('sendQ', live.sendQ),
    );
  } else {
    nodes.push(leaf('open', false));
  }
  return nodes;
}

function stageNodes(ctx: ScopeContext): VarNode[] {
  const info = STAGE_BY_NAME.get(ctx.stage)!;
  const nodes: VarNode[] = [
    leaf('name', info.name, 'pipeline.stage'),
    leaf('direction', info.direction === 'tx' ? 'tx (guest to host)' : 'rx (host to guest)'),
    leaf('owner', info.owner),
    leaf('layer', info.layer),
    leaf('description', info.description),
    leaf('probe hits', ctx.probeHits),
  ];
  if (ctx.breakpointHits !== undefined) nodes.push(leaf('breakpoint hits', ctx.breakpointHits));
  const r = ctx.hit.register;
  if (r && ctx.stage === ctx.hit.stage) {
    nodes.push({
      name: 'register',
      value: `${r.write ? 'write' : 'read'} ${hex(r.offset, 5)} = ${hex(r.value)}`,
      children: () => [leaf('offset', hex(r.offset, 5), 'e1000.reg.offset'), leaf('value', hex(r.value), 'e1000.reg.value'), leaf('write', r.write, 'e1000.reg.write')],
    });
  }
  return nodes;
}

export function buildScopes(ctx: ScopeContext, store: VariableStore): DebugProtocol.Scope[] {
  const scopes: DebugProtocol.Scope[] = [
    { name: 'Packet', presentationHint: 'locals', variablesReference: store.add(() => packetNodes(ctx.hit, ctx.memoryReference)), expensive: false },
  ];
  const d = ctx.hit.descriptor;
  if (d) scopes.push({ name: 'e1000 descriptor', presentationHint: 'registers', variablesReference: store.add(() => descriptorNodes(d)), expensive: false });
  const s = ctx.hit.session;
  if (s) scopes.push({ name: 'NAT session', variablesReference: store.add(() => sessionNodes(s, ctx.liveSession)), expensive: false });
  scopes.push({ name: 'Stage', variablesReference: store.add(() => stageNodes(ctx)), expensive: false });
  return scopes;
}

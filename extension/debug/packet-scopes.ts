/**
 * The scopes of a stack frame of a held packet: "Packet" (the bytes as hex +
 * ASCII, the decoded layers), "e1000 descriptor", "NAT session", "Journey"
 * (the stages the packet crossed so far) and "Stage". Each scope is also an
 * object the Debug Console evaluates by name (`frame`, `descriptor`,
 * `session`, `journey`, `stage`), and every node below carries the
 * evaluateName that finds it again (`udp.dstport`, `frame.bytes.0010`,
 * `session.bytesIn`): what Variables shows, the console answers.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { describe, summarize } from '../pipeline/dissect';
import { formatFieldValue, lookupField } from '../pipeline/dissect/catalog';
import { PacketView } from '../pipeline/dissect/packet-view';
import { verdictText } from '../pipeline/journey';
import type { ProbeHit } from '../pipeline/probe';
import { STAGE_BY_NAME, type StageName } from '../pipeline/stages';
import type { NatSession } from '../slirp/nat';
import { hexLines } from './hex-dump';
import type { JourneySoFar } from '../runtime/journey-so-far';
import type { VarNode, VariableStore } from './variable-store';

export interface ScopeContext {
  readonly hit: ProbeHit;
  /** The frame's stage (the held stage for the top frame, an earlier one below it). */
  readonly stage: StageName;
  /** Names the held bytes for readMemory ("packet:<n>"). */
  readonly memoryReference: string;
  /** How many frames reached this stage so far. */
  readonly stagePackets: number;
  /** How many times the breakpoint that stopped here was hit, when one did. */
  readonly breakpointHits?: number;
  /** The live NAT entry of the hit's session, for its counters. */
  readonly liveSession?: NatSession;
  /** The stages the packet crossed so far. */
  readonly journey?: JourneySoFar;
}

const leaf = (name: string, value: string | number | boolean, evaluateName?: string): VarNode =>
  ({ name, value: String(value), ...(evaluateName ? { evaluateName } : {}) });
const hex = (n: number, width = 8) => `0x${(n >>> 0).toString(16).padStart(width, '0')}`;

/** How many fields a collapsed layer previews on its line. */
const PREVIEW_FIELDS = 3;

/** `bytes` as hex + ASCII, a child per 16-byte line named by its offset. */
function dumpNode(name: string, bytes: Uint8Array, evaluateName: string, memoryReference?: string): VarNode {
  return {
    name,
    value: `${bytes.length} bytes`,
    type: 'Uint8Array',
    evaluateName,
    ...(memoryReference ? { memoryReference } : {}),
    ...(bytes.length ? { children: () => hexLines(bytes).map((l) => leaf(l.offset, l.text, `${evaluateName}.${l.offset}`)) } : {}),
  };
}

/** The bytes past the TCP header (or the socket bytes of sosend/soread). */
function payloadOf(hit: ProbeHit): Uint8Array | undefined {
  if (hit.payload) return hit.payload;
  const value = lookupField('tcp.payload')!.get(new PacketView(hit.frame, hit));
  return value instanceof Uint8Array && value.length ? value : undefined;
}

export function packetNodes(hit: ProbeHit, memoryReference: string): VarNode[] {
  const frame = hit.frame;
  const nodes: VarNode[] = [dumpNode('bytes', frame, 'frame.bytes', memoryReference)];
  const payload = payloadOf(hit);
  if (payload) nodes.push(dumpNode('payload', payload, 'frame.payload'));
  nodes.push(leaf('summary', frame.length ? summarize(frame) : '(no frame at this stage)', 'frame.summary'));
  if (!frame.length) return nodes;
  for (const [layer, fields] of Object.entries(describe(frame))) {
    const entries = Object.entries(fields);
    const preview = entries.slice(0, PREVIEW_FIELDS).map(([k, v]) => `${k.slice(k.lastIndexOf('.') + 1)}=${v}`).join(', ');
    nodes.push({
      name: layer,
      value: entries.length > PREVIEW_FIELDS ? `{${preview}, …}` : `{${preview}}`,
      type: layer,
      evaluateName: layer,
      children: () => entries.map(([k, v]) => leaf(k, v, k)),
    });
  }
  return nodes;
}

function descriptorNodes(hit: ProbeHit): VarNode[] {
  const d = hit.descriptor!;
  const view = new PacketView(hit.frame, hit);
  return [
    leaf('ring', d.ring, 'e1000.ring'),
    leaf('index', d.index, 'e1000.index'),
    leaf('address', hex(d.address), 'e1000.addr'),
    ...Object.entries(d.fields).map(([k, v]) => leaf(k, formatFieldValue(lookupField(`e1000.${k}`)!, v, view), `e1000.${k}`)),
  ];
}

function sessionNodes(s: NonNullable<ProbeHit['session']>, live: NatSession | undefined): VarNode[] {
  const nodes = [
    leaf('id', s.id, 'session.id'),
    leaf('protocol', s.protocol, 'session.protocol'),
    leaf('state', live?.state ?? s.state, 'session.state'),
    leaf('guest', `${s.guestAddr}:${s.guestPort}`, 'session.guest'),
    leaf('host', `${s.hostAddr}:${s.hostPort}`, 'session.host'),
  ];
  if (live) {
    const counters = { inbound: live.inbound, bytesOut: live.bytesOut, packetsOut: live.packetsOut, bytesIn: live.bytesIn, packetsIn: live.packetsIn, recvQ: live.recvQ, sendQ: live.sendQ };
    for (const [k, v] of Object.entries(counters)) nodes.push(leaf(k, v, `session.${k}`));
  } else {
    nodes.push(leaf('open', false, 'session.open'));
  }
  return nodes;
}

/** Each stage crossed, oldest first: "12.345678 s · forwarded"; then the NAT mapping. */
function journeyNodes(j: JourneySoFar): VarNode[] {
  const nodes = j.steps.map((s) => leaf(s.stage, `${(s.time / 1000).toFixed(6)} s · ${verdictText(s.verdict)}`, `journey.${s.stage}`));
  if (j.nat) nodes.push(leaf('nat', `${j.nat.protocol} ${j.nat.guest} <-> ${j.nat.host} (session ${j.nat.session})`, 'journey.nat'));
  return nodes;
}

function journeyPreview(j: JourneySoFar): string {
  const last = j.steps[j.steps.length - 1];
  return `${j.direction}, ${j.steps.length} ${j.steps.length === 1 ? 'stage' : 'stages'}${last ? `, ${verdictText(last.verdict)} at ${last.stage}` : ''}`;
}

function stageNodes(ctx: ScopeContext): VarNode[] {
  const info = STAGE_BY_NAME.get(ctx.stage)!;
  const nodes: VarNode[] = [
    leaf('name', info.name, 'pipeline.stage'),
    leaf('direction', info.direction === 'tx' ? 'tx (guest to host)' : 'rx (host to guest)', 'stage.direction'),
    leaf('owner', info.owner, 'stage.owner'),
    leaf('layer', info.layer, 'stage.layer'),
    leaf('description', info.description, 'stage.description'),
    leaf('packets', ctx.stagePackets, 'stage.packets'),
  ];
  if (ctx.breakpointHits !== undefined) nodes.push(leaf('breakpoint hits', ctx.breakpointHits, 'stage.breakpointHits'));
  const r = ctx.hit.register;
  if (r && ctx.stage === ctx.hit.stage) {
    nodes.push({
      name: 'register',
      value: `${r.write ? 'write' : 'read'} ${hex(r.offset, 5)} = ${hex(r.value)}`,
      evaluateName: 'stage.register',
      children: () => [leaf('offset', hex(r.offset, 5), 'e1000.reg.offset'), leaf('value', hex(r.value), 'e1000.reg.value'), leaf('write', r.write, 'e1000.reg.write')],
    });
  }
  return nodes;
}

/** A scope and the object the Debug Console knows it by. */
export interface StopObject {
  readonly scope: string;
  readonly node: VarNode;
  readonly presentationHint?: DebugProtocol.Scope['presentationHint'];
}

/** The objects of a stop, in scope order: frame, descriptor, session, journey, stage. */
export function stopObjects(ctx: ScopeContext): StopObject[] {
  const hit = ctx.hit;
  const frame = hit.frame;
  const objects: StopObject[] = [{
    scope: 'Packet',
    presentationHint: 'locals',
    node: { name: 'frame', value: frame.length ? summarize(frame) : '(no frame at this stage)', evaluateName: 'frame', children: () => packetNodes(hit, ctx.memoryReference) },
  }];
  const d = hit.descriptor;
  if (d) {
    objects.push({ scope: 'e1000 descriptor', presentationHint: 'registers', node: { name: 'descriptor', value: `${d.ring} #${d.index} at ${hex(d.address)}`, evaluateName: 'descriptor', children: () => descriptorNodes(hit) } });
  }
  const s = hit.session;
  if (s) {
    objects.push({ scope: 'NAT session', node: { name: 'session', value: `${s.protocol} ${s.guestAddr}:${s.guestPort} <-> ${s.hostAddr}:${s.hostPort} (session ${s.id})`, evaluateName: 'session', children: () => sessionNodes(s, ctx.liveSession) } });
  }
  const j = ctx.journey;
  if (j) objects.push({ scope: 'Journey', node: { name: 'journey', value: journeyPreview(j), evaluateName: 'journey', children: () => journeyNodes(j) } });
  objects.push({ scope: 'Stage', node: { name: 'stage', value: ctx.stage, evaluateName: 'stage', children: () => stageNodes(ctx) } });
  return objects;
}

export function buildScopes(ctx: ScopeContext, store: VariableStore): DebugProtocol.Scope[] {
  return stopObjects(ctx).map((o) => ({
    name: o.scope,
    ...(o.presentationHint ? { presentationHint: o.presentationHint } : {}),
    variablesReference: store.add(o.node.children!),
    expensive: false,
  }));
}

/** The node whose evaluateName is `name`, among the stop's objects and two levels below them, or undefined. */
export function findStopNode(objects: readonly StopObject[], name: string): VarNode | undefined {
  const roots = objects.map((o) => o.node);
  const direct = roots.find((n) => n.evaluateName === name);
  if (direct) return direct;
  // Below an object, names are the object's (`session.guest`) or the filter language's (`e1000.cmd`, `ip.src` in a layer).
  for (const root of roots) {
    for (const n of root.children!()) {
      if (n.evaluateName === name) return n;
      if (!n.children) continue;
      const into = name.startsWith(`${n.evaluateName}.`) || (root.evaluateName === 'frame' && n.type === n.name);
      if (into) {
        const found = n.children().find((c) => c.evaluateName === name);
        if (found) return found;
      }
    }
  }
  return undefined;
}

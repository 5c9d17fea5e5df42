/**
 * The topology view's model: QEMU's user-network diagram (guest, e1000, the
 * slirp gateway and DNS, NAT, the host) built from what the adapter reports
 * (usernet.topology, usernet.sessions, usernet.stages, usernet.vmState). Each
 * part carries its counters, the drops and conditions at its stages, and what
 * a click on it can do: the capture filter, the stage to break on, the NAT
 * sessions filter and the stages conditions go on. Pure data: the extension
 * builds it, the webview only draws it (webview/topology/render.ts).
 */
import { DROP_REASONS, isRoutineDrop, type DropReason } from '../pipeline/drop-reasons';
import { STAGE_BY_NAME, type EngineKind, type StageName } from '../pipeline/stages';
import { guestForwardPart, hostForwardPart, type TopologyForward } from './topology-forwards';
import type { ConditionsBody, DropRow, ForwardRow, SessionRow, TopologyBody, VmStateBody } from './feed-bodies';

import type { ConditionPlace, PartTargets } from './topology-targets';

export type { TopologyForward } from './topology-forwards';
export type { ConditionPlace, PartTargets } from './topology-targets';

export const PART_IDS = ['guest', 'nic', 'wire', 'gateway', 'dns', 'nat', 'resolver', 'host'] as const;
export type PartId = (typeof PART_IDS)[number];
export const PART_ACTIONS = ['capture', 'break', 'sessions', 'conditions'] as const;
export type PartAction = (typeof PART_ACTIONS)[number];

/** Frames (or packets) and bytes one way. */
export interface Count {
  frames: number;
  bytes: number;
}

export interface TopologyPart {
  id: PartId;
  kind: 'node' | 'link';
  title: string;
  lines: string[];
  /** For links: what crossed toward the host and toward the guest. */
  toHost?: Count;
  toGuest?: Count;
  /** Frames discarded at this part's stages, routine ones aside, and one "stage: reason ×N" line each (routine ones too). */
  dropped: number;
  /** The guest's ordinary traffic discarded here (drop-reasons.ts `routine`): drawn quietly, not as a fault. */
  routine: number;
  dropLines: string[];
  /** The network conditions in force at this part's stages (their rule text). */
  conditions: string[];
  /** Drawn but not ours to probe (QEMU's own e1000 under the QEMU engine). */
  foreign?: boolean;
  targets: PartTargets;
}

export interface TopologyModel {
  title: string;
  state: string;
  engine: EngineKind;
  parts: TopologyPart[];
  forwards: TopologyForward[];
}

export interface TopologyInput {
  name: string;
  state?: VmStateBody;
  topology?: TopologyBody;
  sessions: readonly SessionRow[];
  forwards: readonly ForwardRow[];
  drops: readonly DropRow[];
  conditions?: ConditionsBody;
}

type FlowKind = 'nat' | 'resolver';
interface FlowCount {
  toHost: Count;
  toGuest: Count;
}
const zero = (): FlowCount => ({ toHost: { frames: 0, bytes: 0 }, toGuest: { frames: 0, bytes: 0 } });

/**
 * Packets and bytes over NAT sessions since the VM started, per link: a closed
 * session leaves the table but its traffic stays counted, so counters only grow.
 */
export class FlowTotals {
  private readonly live = new Map<number, { kind: FlowKind; row: SessionRow }>();
  private readonly retired: Record<FlowKind, FlowCount> = { nat: zero(), resolver: zero() };

  /** `closed`: sessions that closed since the last update, with their final counters (they replace the last row seen). */
  update(rows: readonly SessionRow[], dnsAddresses: readonly string[], closed: readonly SessionRow[] = []): void {
    const kindOf = (row: SessionRow): FlowKind => (dnsAddresses.includes(hostOf(row.remote)) ? 'resolver' : 'nat');
    for (const row of closed) {
      add(this.retired[this.live.get(row.id)?.kind ?? kindOf(row)], row);
      this.live.delete(row.id);
    }
    const seen = new Set<number>();
    for (const row of rows) {
      seen.add(row.id);
      this.live.set(row.id, { kind: kindOf(row), row });
    }
    // A session gone without a final row (an adapter that sends none): its last row seen counts.
    for (const [id, { kind, row }] of this.live) {
      if (seen.has(id)) continue;
      add(this.retired[kind], row);
      this.live.delete(id);
    }
  }

  get(kind: FlowKind): FlowCount {
    const total = zero();
    add(total, this.retired[kind]);
    for (const s of this.live.values()) if (s.kind === kind) add(total, s.row);
    return total;
  }
}

function add(into: FlowCount, from: FlowCount | SessionRow): void {
  if ('toHost' in from) {
    into.toHost.frames += from.toHost.frames;
    into.toHost.bytes += from.toHost.bytes;
    into.toGuest.frames += from.toGuest.frames;
    into.toGuest.bytes += from.toGuest.bytes;
    return;
  }
  into.toHost.frames += from.packetsOut;
  into.toHost.bytes += from.bytesOut;
  into.toGuest.frames += from.packetsIn;
  into.toGuest.bytes += from.bytesIn;
}

/** "10.0.2.3:53" -> "10.0.2.3", "[fec0::3]:53" -> "fec0::3", "10.0.2.2" (icmp) as is. */
export function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  const colon = endpoint.lastIndexOf(':');
  return colon > 0 && endpoint.indexOf(':') === colon ? endpoint.slice(0, colon) : endpoint;
}

/** The addresses whose sessions are DNS, not NAT: 10.0.2.3 (and fec0::3). */
export function dnsAddresses(t: TopologyBody | undefined): string[] {
  return [t?.dns ?? '10.0.2.3', ...(t?.ipv6 ? [t.ipv6.dns] : [])];
}

/** Which part a stage belongs to: where its drops and conditions are drawn. */
export function partOfStage(stage: string): PartId {
  const info = STAGE_BY_NAME.get(stage);
  if (!info) return 'gateway';
  if (info.owner === 'nic') return 'nic';
  if (info.owner === 'netqueue') return 'wire';
  if (stage === 'dns_input') return 'dns';
  if (info.layer === 'socket') return 'nat';
  return 'gateway';
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function buildTopology(input: TopologyInput, totals: FlowTotals): TopologyModel {
  const t = input.topology;
  const engine: EngineKind = t?.engine ?? 'embedded';
  const embedded = engine === 'embedded';
  const gw = t?.gateway ?? '10.0.2.2';
  const dns = t?.dns ?? '10.0.2.3';
  totals.update(input.sessions, dnsAddresses(t));
  const nat = totals.get('nat');
  const resolver = totals.get('resolver');
  const lease = input.state?.guestAddress;
  const tcp = input.sessions.filter((s) => s.protocol === 'tcp').length;
  const udp = input.sessions.filter((s) => s.protocol === 'udp').length;
  const icmp = input.sessions.filter((s) => s.protocol === 'icmp').length;
  const notDns = `!(ip.addr == ${dns})`;
  const both = (from: ConditionPlace, toward: ConditionPlace) => [from, toward];

  const parts: Omit<TopologyPart, 'dropped' | 'routine' | 'dropLines' | 'conditions'>[] = [
    {
      id: 'guest', kind: 'node', title: 'Guest',
      lines: [
        lease ? `eth0 ${lease}` : 'eth0: no lease yet',
        ...(t?.guestMac ? [`MAC ${t.guestMac}`] : []),
        ...(t ? [`MTU ${t.mtu}`] : []),
        ...(t?.ipv6 ? [`IPv6 ${t.ipv6.prefix} (SLAAC)`] : []),
      ],
      targets: {
        capture: lease ? `ip.addr == ${lease}` : '',
        break: { stage: embedded ? 'e1000_send_packet' : 'net_slirp_receive' },
        sessions: '',
        conditions: both({ label: 'From the guest', stage: 'ip_input' }, { label: 'Toward the guest', stage: 'ip_output' }),
      },
    },
    {
      id: 'nic', kind: 'node', title: embedded ? 'e1000 (ours)' : "e1000 (QEMU's)",
      lines: embedded ? ['82540EM, TX/RX rings', 'stages e1000_*'] : ['-netdev stream to our slirp', 'not probed here'],
      foreign: !embedded,
      targets: embedded
        ? {
            capture: '',
            break: { stage: 'e1000_send_packet' },
            conditions: both({ label: 'From the guest', stage: 'qemu_send_packet' }, { label: 'Toward the guest', stage: 'qemu_receive_packet' }),
          }
        : {},
    },
    {
      id: 'wire', kind: 'link', title: embedded ? 'net queue' : 'stream socket',
      lines: [],
      toHost: { frames: t?.link.framesToHost ?? 0, bytes: t?.link.bytesToHost ?? 0 },
      toGuest: { frames: t?.link.framesToGuest ?? 0, bytes: t?.link.bytesToGuest ?? 0 },
      targets: {
        capture: '',
        break: { stage: 'net_slirp_receive' },
        conditions: both({ label: 'From the guest', stage: 'net_slirp_receive' }, { label: 'Toward the guest', stage: 'net_slirp_send_packet' }),
      },
    },
    {
      id: 'gateway', kind: 'node', title: `Gateway ${gw}`,
      lines: [
        `slirp: DHCP, ARP, ICMP, NAT`,
        ...(t ? [`net ${t.net}`] : []),
        ...(t?.ipv6 ? [`IPv6 ${t.ipv6.gateway}`] : []),
        ...(t?.restrict ? ['restrict=on: no NAT out'] : []),
      ],
      targets: {
        capture: `ip.addr == ${gw}`,
        break: { stage: 'ip_input', condition: `ip.dst == ${gw}` },
        sessions: `ip.addr == ${gw}`,
        conditions: both(
          { label: `From the guest to ${gw}`, stage: 'ip_input', filter: `ip.dst == ${gw}` },
          { label: `From ${gw} to the guest`, stage: 'ip_output', filter: `ip.src == ${gw}` },
        ),
      },
    },
    {
      id: 'dns', kind: 'node', title: `DNS ${dns}`,
      lines: [t?.ipv6 ? `IPv6 ${t.ipv6.dns}` : 'forwards to the host resolver'],
      targets: {
        capture: `ip.addr == ${dns}`,
        break: { stage: 'dns_input' },
        sessions: `ip.addr == ${dns}`,
        conditions: both(
          { label: 'Queries from the guest', stage: 'dns_input' },
          { label: 'Answers to the guest', stage: 'ip_output', filter: `ip.src == ${dns}` },
        ),
      },
    },
    {
      id: 'nat', kind: 'link', title: 'NAT',
      lines: [plural(tcp + udp + icmp - sessionsTo(input.sessions, dns), 'session')],
      toHost: nat.toHost, toGuest: nat.toGuest,
      targets: {
        capture: `ip && ${notDns}`,
        break: { stage: 'sosendto' },
        sessions: notDns,
        conditions: both(
          { label: 'From the guest (all but DNS)', stage: 'ip_input', filter: notDns },
          { label: 'Toward the guest (all but DNS)', stage: 'ip_output', filter: notDns },
        ),
      },
    },
    {
      id: 'resolver', kind: 'link', title: 'resolver',
      lines: [],
      toHost: resolver.toHost, toGuest: resolver.toGuest,
      targets: {
        capture: `ip.addr == ${dns}`,
        break: { stage: 'dns_input' },
        sessions: `ip.addr == ${dns}`,
        conditions: both({ label: 'Queries', stage: 'dns_input' }, { label: 'Answers', stage: 'ip_output', filter: `ip.src == ${dns}` }),
      },
    },
    {
      id: 'host', kind: 'node', title: 'Host',
      lines: [
        `sockets: ${tcp} tcp · ${udp} udp · ${icmp} icmp`,
        ...(t?.hostLoopback === false ? ['no loopback via the gateway'] : [`127.0.0.1 as ${gw}`]),
      ],
      targets: { capture: `ip && ${notDns}`, break: { stage: 'sorecvfrom' }, sessions: '' },
    },
  ];

  const dropsAt = new Map<PartId, DropRow[]>();
  for (const d of input.drops) push(dropsAt, partOfStage(d.stage), d);
  const conditionsAt = new Map<PartId, string[]>();
  for (const r of input.conditions?.rules ?? []) push(conditionsAt, partOfStage(r.stage), r.text);

  return {
    title: input.name,
    state: input.state?.state ?? 'booting',
    engine,
    parts: parts.map((p) => {
      const drops = dropsAt.get(p.id) ?? [];
      const routine = drops.filter((d) => isRoutineDrop(d.reason));
      return {
        ...p,
        dropped: drops.reduce((n, d) => n + d.count, 0) - routine.reduce((n, d) => n + d.count, 0),
        routine: routine.reduce((n, d) => n + d.count, 0),
        dropLines: drops.map((d) => `${d.stage}: ${d.reason} ×${d.count}${routine.includes(d) ? ` (routine: ${DROP_REASONS[d.reason as DropReason].summary})` : ''}`),
        conditions: conditionsAt.get(p.id) ?? [],
      };
    }),
    forwards: [
      ...input.forwards.map((f, i) => hostForwardPart(f, i, lease)),
      ...(t?.guestForwards ?? []).map((f, i) => guestForwardPart(f, i)),
    ],
  };
}

function sessionsTo(rows: readonly SessionRow[], dns: string): number {
  return rows.filter((r) => hostOf(r.remote) === dns).length;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** A part of `model` by id, box, link or forward (the webview names parts by id only). */
export function partById(model: TopologyModel, id: string): TopologyPart | TopologyForward | undefined {
  return model.parts.find((p) => p.id === id) ?? model.forwards.find((f) => f.id === id);
}

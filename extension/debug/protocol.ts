/**
 * The custom part of the DAP conversation between the extension (ui/) and the
 * debug adapter that runs the VM. Standard DAP carries breakpoints, stops,
 * stacks, variables and memory; these carry what DAP has no word for.
 * Both sides validate what they receive (see isSerialInput etc.).
 */
import type { EngineKind } from '../pipeline/stages';

import type { FlowSnapshot } from '../pipeline/flow/record';

/** Discards counted at one stage for one reason (docs/drop-reasons.md), for the Drops node. */
export interface DropRow {
  readonly stage: string;
  readonly reason: string;
  readonly count: number;
}

/** Events, adapter -> extension. */
export interface UsernetEvents {
  /** Guest serial output. `seq` counts chunks so the UI can detect gaps. */
  'usernet.serial': { seq: number; data: string /* base64 */ };
  /** The NAT table, batched: at most a few per second, only when something changed. */
  'usernet.sessions': {
    sessions: SessionRow[];
    forwards: ForwardRow[];
    /** Sessions closed since the last event, with their final counters: totals over closed sessions stay exact. */
    closed?: SessionRow[];
  };
  /** Per-stage hit counters and the network conditions in force, batched like sessions. */
  /** `hits`: frames that reached each stage so far (counted armed or not); `drops`: the drop ledger. */
  'usernet.stages': { hits: Record<string, number>; conditions?: ConditionsBody; drops?: DropRow[] };
  'usernet.vmState': VmStateBody;
  /** What the topology view draws beyond the NAT table: addresses, the guest link and its counters (4 a second at most). */
  'usernet.topology': TopologyBody;
}

/** The guest's network as configured and as seen, with the guest link's frame and byte counters. */
export interface TopologyBody {
  engine: EngineKind;
  /** The guest NIC's MAC ("52:54:00:12:34:56") and its link's MTU (what DHCP offers). */
  guestMac?: string;
  mtu: number;
  /** "10.0.2.0/24", the gateway (10.0.2.2) and the DNS address (10.0.2.3). */
  net: string;
  gateway: string;
  dns: string;
  /** IPv6 when on: "fec0::/64", fec0::2, fec0::3. */
  ipv6?: { prefix: string; gateway: string; dns: string };
  restrict: boolean;
  /** Whether 10.0.2.2 reaches the host's loopback (libslirp's default). */
  hostLoopback: boolean;
  guestForwards: Array<{ server: string; target: string }>;
  /** Frames and bytes the guest sent (toHost) and received (toGuest) on its link. */
  link: { framesToHost: number; bytesToHost: number; framesToGuest: number; bytesToGuest: number };
}

export interface VmStateBody {
  state: 'booting' | 'running' | 'paused' | 'stopped' | 'failed';
  guestAddress?: string;
  sessionCount?: number;
  bootMs?: number;
  restored?: boolean;
  /** For 'failed': what failed and what to do. */
  message?: string;
  /** A capture in progress: its file and the packets written so far (the status bar shows it). */
  capture?: { file: string; packets: number };
}

export interface SessionRow {
  id: number;
  protocol: 'tcp' | 'udp' | 'icmp';
  state: string;
  guest: string; // "10.0.2.15:40000"
  remote: string; // "10.0.2.2:8080"
  host: string; // the host-side peer, "127.0.0.1:8080"
  inbound: boolean;
  bytesOut: number;
  bytesIn: number;
  packetsOut: number;
  packetsIn: number;
  ageMs: number;
  expiresInMs?: number;
  recvQ: number;
  sendQ: number;
}

export interface ForwardRow {
  protocol: 'tcp' | 'udp';
  hostAddr: string;
  hostPort: number;
  guestAddr: string;
  guestPort: number;
}

/** Custom requests, extension -> adapter (session.customRequest(name, args)). */
export interface UsernetRequests {
  'usernet.serialInput': { args: { data: string /* base64 */ }; result: void };
  'usernet.closeSession': { args: { id: number }; result: void };
  'usernet.addForward': { args: { spec: string /* "tcp:127.0.0.1:2222-:22" */ }; result: void };
  'usernet.removeForward': { args: { protocol: 'tcp' | 'udp'; hostAddr: string; hostPort: number }; result: { removed: boolean } };
  'usernet.startCapture': { args: { file: string; filter?: string; snaplen?: number }; result: void };
  'usernet.stopCapture': { args: Record<string, never>; result: { captured: number; file?: string } };
  'usernet.infoUsernet': { args: Record<string, never>; result: { text: string } };
  /** Network conditions (netem rules): list, add one, remove one, clear. */
  'usernet.netem': { args: NetemRequestArgs; result: ConditionsBody };
  /** Record every NAT session's flow from now on (the UI asks while a view that shows them is visible), or stop. */
  'usernet.recordFlows': { args: { on: boolean }; result: void };
  /** A NAT session's flow (flow graph, TCP stream graph): its items numbered `from` and later. */
  'usernet.flow': { args: FlowRequestArgs; result: FlowSnapshot };
  /** One packet of a flow: its frame and its journey as text. */
  'usernet.flowDetail': { args: { session: number; n: number }; result: { frame?: string /* base64 */; journey?: string } };
  /** The packets of a flow (their n) that a filter (the filter language) keeps. */
  'usernet.flowFilter': { args: { session: number; filter: string }; result: { matches: number[] } };
}

export interface FlowRequestArgs {
  session: number;
  from: number;
}

export type NetemRequestArgs =
  | { action: 'list' }
  | { action: 'add'; rule: string /* "tcp_input if tcp.port == 80: loss 5%" */ }
  | { action: 'remove'; id: number }
  | { action: 'clear' };

/** The rules in force, each with its counters (what `netem` lists in the Debug Console). */
export interface ConditionsBody {
  seed: number;
  rules: Array<{ id: number; text: string; stage: string; counters: Record<string, number> }>;
}

export type UsernetEventName = keyof UsernetEvents;
export type UsernetRequestName = keyof UsernetRequests;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Serial input is small base64 text: anything else is refused. */
export function isSerialInput(v: unknown): v is UsernetRequests['usernet.serialInput']['args'] {
  return isObject(v) && typeof v.data === 'string' && v.data.length <= 64 * 1024 && BASE64.test(v.data);
}

export function isSessionId(v: unknown): v is { id: number } {
  return isObject(v) && Number.isSafeInteger(v.id) && (v.id as number) > 0;
}

/**
 * What the runtime's feeds carry: the bodies of its NAT, stage, VM state and
 * topology events and of the requests it answers. The debug adapter sends
 * them on unchanged (debug/protocol.ts names them as DAP custom events); the
 * UI reads them; the CLI prompt prints them.
 */
import type { EngineKind } from '../pipeline/stages';

/** Discards counted at one stage for one reason (docs/drop-reasons.md), for the Drops node. */
export interface DropRow {
  readonly stage: string;
  readonly reason: string;
  readonly count: number;
}

/** Guest serial output. `seq` counts chunks so the UI can detect gaps. */
export interface SerialBody {
  seq: number;
  data: string /* base64 */;
}

/** The NAT table, batched: at most a few per second, only when something changed. */
export interface SessionsBody {
  sessions: SessionRow[];
  forwards: ForwardRow[];
  /** Sessions closed since the last event, with their final counters: totals over closed sessions stay exact. */
  closed?: SessionRow[];
}

/**
 * Per-stage hit counters and the network conditions in force, batched like sessions.
 * `hits`: frames that reached each stage so far (counted armed or not); `drops`: the drop ledger.
 */
export interface StagesBody {
  hits: Record<string, number>;
  conditions?: ConditionsBody;
  drops?: DropRow[];
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

/** A host forward named by its host side, as removeForward takes it. */
export interface ForwardRule {
  protocol: 'tcp' | 'udp';
  hostAddr: string;
  hostPort: number;
}

export interface CaptureRequest {
  file: string;
  filter?: string;
  snaplen?: number;
}

export interface CaptureResult {
  captured: number;
  file?: string;
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

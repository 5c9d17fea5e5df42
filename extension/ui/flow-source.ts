/**
 * Where a flow view reads its flow: a live NAT session of a running VM (the
 * debug adapter's flow recorder, through custom requests), or packets held
 * here (a conversation of a capture file). Views only know this interface:
 * `showFlow(title, source)` (flow-panel.ts) takes either.
 */
import type * as vscode from 'vscode';
import { describe, type DissectedTree } from '../pipeline/dissect';
import { compileFilter } from '../pipeline/filter';
import { flowFromFrames, type FlowEndpoints, type FlowItem, type FlowSnapshot } from '../pipeline/flow/record';

export interface FlowPacketDetail {
  readonly fields: DissectedTree;
  readonly journey?: string;
}

export interface FlowSource {
  /** True while items may still arrive (the view polls `read`). */
  readonly live: boolean;
  readonly endpoints: FlowEndpoints;
  /** Items numbered `from` and later. */
  read(from: number): Promise<FlowSnapshot>;
  /** The decode of packet `n` (the Variables view's field names) and its journey. */
  detail(n: number): Promise<FlowPacketDetail>;
  /** The packets (their n) the filter keeps; rejects with the filter's syntax error. */
  filter(text: string): Promise<number[]>;
}

/** A NAT session of a running VM, read through the adapter's usernet.flow* requests. */
export function liveFlowSource(session: vscode.DebugSession, sessionId: number, endpoints: FlowEndpoints): FlowSource {
  return {
    live: true,
    endpoints,
    read: async (from) => (await session.customRequest('usernet.flow', { session: sessionId, from })) as FlowSnapshot,
    detail: async (n) => {
      const d = (await session.customRequest('usernet.flowDetail', { session: sessionId, n })) as { frame?: string; journey?: string };
      return { fields: d.frame ? describe(Buffer.from(d.frame, 'base64')) : {}, ...(d.journey ? { journey: d.journey } : {}) };
    },
    filter: async (text) => ((await session.customRequest('usernet.flowFilter', { session: sessionId, filter: text })) as { matches: number[] }).matches,
  };
}

/** A packet held here, with what the view may show of it. */
export interface HeldFlowPacket {
  readonly frame: Uint8Array;
  /** Milliseconds from any origin (a capture's timestamps). */
  readonly time: number;
  readonly journey?: number;
  /** Shown under the decode (a pcapng comment, say). */
  readonly note?: string;
}

/**
 * Frames of one conversation (a capture file's), as a finished flow: the
 * guest is the side with address `guest` (10.0.2.15 by default).
 */
export function framesFlowSource(packets: readonly HeldFlowPacket[], guest?: string): FlowSource {
  const { endpoints, items, source } = flowFromFrames(packets, guest);
  return recordsFlowSource(endpoints, items, (n) => packets[source[n]!]);
}

/** Items made elsewhere, with a way to find the frame of packet n. */
export function recordsFlowSource(endpoints: FlowEndpoints, items: readonly FlowItem[], packet: (n: number) => HeldFlowPacket | undefined): FlowSource {
  const all = [...items];
  return {
    live: false,
    endpoints,
    read: async (from) => ({ endpoints, items: all.filter((i) => i.n >= from), next: (all[all.length - 1]?.n ?? -1) + 1, forgotten: 0, closed: true, state: 'capture' }),
    detail: async (n) => {
      const p = packet(n);
      if (!p) throw new Error(`packet ${n} has no frame here`);
      return { fields: describe(p.frame), ...(p.note ? { journey: p.note } : {}) };
    },
    filter: async (text) => {
      const f = compileFilter(text);
      return all.flatMap((i) => {
        const p = i.kind === 'packet' ? packet(i.n) : undefined;
        return p && f.matchesFrame(p.frame) ? [i.n] : [];
      });
    },
  };
}

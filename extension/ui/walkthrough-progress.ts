/**
 * When each step of the "User networking" walkthrough is done, decided from
 * what really happened: the VM's own reports (its state, its lease, its NAT
 * table, the call stack of a stop) and what the walkthrough's host ends saw
 * (a connection refused, a greeting received). Each step completes on a
 * context key (package.json: completionEvents onContext:KEY); this file says
 * which event sets which key, and knows nothing of VS Code.
 */
import type { SessionRow, VmStateBody } from '../debug/protocol';

export const WALK_KEYS = {
  /** The VM is running. */
  launched: 'usernet.walk.launched',
  /** The stack acked a DHCP lease (the guest is 10.0.2.15, its gateway 10.0.2.2, its DNS 10.0.2.3). */
  leased: 'usernet.walk.leased',
  /** A guest connection reached a host socket through 10.0.2.2. */
  reachedHost: 'usernet.walk.reachedHost',
  /** A host connection towards the guest's port was refused: no forward leads there. */
  inboundRefused: 'usernet.walk.inboundRefused',
  /** With a hostfwd, a host connection reached the guest and data came back. */
  forwarded: 'usernet.walk.forwarded',
  /** The VM stopped at slirp_input and its stack, down to e1000_mmio_write, was read. */
  readChain: 'usernet.walk.readChain',
} as const;

export type WalkKey = (typeof WALK_KEYS)[keyof typeof WALK_KEYS];

export type WalkEvent =
  | { kind: 'vmState'; body: VmStateBody }
  | { kind: 'sessions'; sessions: readonly SessionRow[] }
  /** A stackTrace answer of the adapter: the frames' names, innermost first. */
  | { kind: 'stack'; frames: readonly string[] }
  /** The walkthrough's loopback listener got bytes from the guest. */
  | { kind: 'hostReceived' }
  /** Connecting to the guest's port through the host was refused. */
  | { kind: 'inboundRefused' }
  /** Through the hostfwd, the guest answered the host. */
  | { kind: 'guestAnswered' };

/** The gateway as the guest sees it: the host's loopback behind NAT. */
const GATEWAY = '10.0.2.2';

/** The keys an event sets (never unsets: a step once done stays done). */
export function keysReached(event: WalkEvent): WalkKey[] {
  switch (event.kind) {
    case 'vmState': {
      const keys: WalkKey[] = [];
      if (event.body.state === 'running' || event.body.state === 'paused') keys.push(WALK_KEYS.launched);
      if (event.body.guestAddress) keys.push(WALK_KEYS.leased);
      return keys;
    }
    case 'sessions': {
      const keys: WalkKey[] = [];
      if (event.sessions.some((s) => s.protocol === 'tcp' && !s.inbound && hostOf(s.remote) === GATEWAY)) keys.push(WALK_KEYS.reachedHost);
      // An inbound session that carried bytes both ways: a guest listener answered (a refusal moves no data).
      if (event.sessions.some((s) => s.inbound && s.bytesIn > 0 && s.bytesOut > 0)) keys.push(WALK_KEYS.forwarded);
      return keys;
    }
    case 'stack':
      return isChainFromMmio(event.frames) ? [WALK_KEYS.readChain] : [];
    case 'hostReceived':
      return [WALK_KEYS.reachedHost];
    case 'inboundRefused':
      return [WALK_KEYS.inboundRefused];
    case 'guestAnswered':
      return [WALK_KEYS.forwarded];
  }
}

/** A stop at slirp_input whose outermost frame is the register write that moved TDT. */
function isChainFromMmio(frames: readonly string[]): boolean {
  const names = frames.map(stageOf);
  return names[0] === 'slirp_input' && names.at(-1) === 'e1000_mmio_write';
}

/** The top frame reads "slirp_input: <the packet>": the stage is the name before the colon. */
function stageOf(frameName: string): string {
  return frameName.split(':')[0]!.trim();
}

/** "10.0.2.2:8080" -> "10.0.2.2"; "[fec0::2]:80" -> "fec0::2". */
function hostOf(endpoint: string): string {
  const v6 = /^\[(.*)\]:\d+$/.exec(endpoint);
  if (v6) return v6[1]!;
  const at = endpoint.lastIndexOf(':');
  return at < 0 ? endpoint : endpoint.slice(0, at);
}

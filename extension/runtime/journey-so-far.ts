/**
 * The journey of a held packet so far, shown at a stop: the stages it crossed
 * in order with their VM time and what each did, and its NAT mapping. It is
 * built from the stop itself, so the debugger records nothing while the VM
 * runs (journeys cost nothing when off). The stages of one stop run in one
 * synchronous call chain, at one VM instant: they share the stop's time. A
 * step keeps the times of the stages seen at the stops before it.
 */
import type { StopEvent } from '../pipeline/breakpoints';
import type { JourneyStep, NatMapping, Verdict } from '../pipeline/journey';
import type { Direction, StageName } from '../pipeline/stages';
import { stagePosition } from '../pipeline/stage-chain';

export interface JourneySoFar {
  readonly direction: Direction;
  readonly steps: readonly JourneyStep[];
  readonly nat?: NatMapping;
}

/** `previous` is the journey at the stop this one stepped from (the same packet), if any. */
export function journeySoFar(event: StopEvent, now: number, previous?: JourneySoFar): JourneySoFar {
  const chain = event.stageChain;
  const last = chain[chain.length - 1] ?? event.hit.stage;
  const direction = stagePosition(last).direction;
  const same = previous && previous.direction === direction && previous.steps.every((s) => chain.includes(s.stage)) ? previous : undefined;
  const times = new Map<StageName, number>(same?.steps.map((s) => [s.stage, s.time]));
  const steps = chain.map((stage, i): JourneyStep => {
    const verdict: Verdict = i < chain.length - 1 ? { kind: 'forwarded' } : event.dropReason ? { kind: 'dropped', reason: event.dropReason } : { kind: 'held' };
    return { stage, time: times.get(stage) ?? now, verdict };
  });
  const s = event.hit.session;
  const nat = s ? { session: s.id, protocol: s.protocol, guest: `${s.guestAddr}:${s.guestPort}`, host: `${s.hostAddr}:${s.hostPort}` } : same?.nat;
  return { direction, steps, ...(nat ? { nat } : {}) };
}

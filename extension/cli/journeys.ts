/**
 * `usernet run --journey FILTER` and `--drops`: each matching frame's journey
 * as an indented tree on stderr once it ends, and every drop with its stage and
 * reason; `--json` makes both JSON lines. Times are VM seconds since the VM
 * was attached (the clock stands still at a breakpoint).
 */
import type { Clock } from '../pipeline/clock';
import { isRoutineDrop } from '../pipeline/drop-reasons';
import { compileFilter } from '../pipeline/filter';
import { formatJourney, journeyJson } from '../pipeline/journey';
import { JourneyRecorder, type JourneyDrop } from '../pipeline/journey-recorder';
import type { ProbeHub } from '../pipeline/probe';
import type { EngineKind } from '../pipeline/stages';

export interface JourneyPlan {
  /** Display filter of the frames whose journeys are printed; '' for every frame. */
  readonly journey?: string;
  readonly drops: boolean;
  readonly json: boolean;
}

/** "drop udp_input udp-bad-checksum 10.0.2.15:40000 -> 10.0.2.2:9 UDP len=4 (journey 12)"; "(routine)" after a routine reason. */
export function formatDrop(d: JourneyDrop, origin: number): string {
  const parts = [`${((d.time - origin) / 1000).toFixed(6)} drop ${d.stage} ${d.reason}`];
  if (isRoutineDrop(d.reason)) parts.push('(routine)');
  if (d.summary) parts.push(d.summary);
  if (d.journey) parts.push(`(journey ${d.journey.id})`);
  return parts.join(' ');
}

export function dropJson(d: JourneyDrop, origin: number): Record<string, unknown> {
  return {
    drop: d.reason,
    stage: d.stage,
    ...(isRoutineDrop(d.reason) ? { routine: true } : {}),
    time: +((d.time - origin) / 1000).toFixed(6),
    ...(d.summary ? { summary: d.summary } : {}),
    ...(d.journey ? { journey: d.journey.id } : {}),
  };
}

/** Starts the recorders the plan asks for; returns the function that prints what is still open and stops them. */
export function startCliJourneys(vm: { probes: ProbeHub; clock: Clock }, plan: JourneyPlan, engine: EngineKind, write: (line: string) => void): () => void {
  const origin = vm.clock.now();
  const out = (o: Record<string, unknown>, text: string) => write(plan.json ? JSON.stringify(o) : text);
  const recorders: JourneyRecorder[] = [];
  const make = (filterText: string) => {
    const filter = filterText.trim() === '' ? undefined : compileFilter(filterText);
    const r = new JourneyRecorder(vm.probes, { clock: vm.clock, engine, ...(filter ? { filter } : {}) });
    recorders.push(r);
    return r;
  };
  const journeys = plan.journey !== undefined ? make(plan.journey) : undefined;
  journeys?.listen((e) => {
    if (e.type === 'end') out(journeyJson(e.journey, origin), formatJourney(e.journey, origin));
  });
  if (plan.drops) {
    // Every drop, whatever --journey keeps: a recorder of its own unless that one takes every frame.
    const all = journeys && plan.journey!.trim() === '' ? journeys : make('');
    all.listen((e) => {
      if (e.type === 'drop') out(dropJson(e, origin), formatDrop(e, origin));
    });
  }
  for (const r of recorders) r.start();
  return () => {
    for (const r of recorders) r.stop();
  };
}

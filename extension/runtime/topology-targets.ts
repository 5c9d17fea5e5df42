/**
 * What a click on a topology part (a box, a link, a forward rule) can aim
 * at: the capture filter, the stage to break on, the NAT sessions filter and
 * the places conditions go. Shared by the parts (topology-model.ts) and the
 * forward rules (topology-forwards.ts).
 */
import type { StageName } from '../pipeline/stages';

/** A place conditions can go, as "Simulate Conditions…" offers it. */
export interface ConditionPlace {
  label: string;
  stage: StageName;
  filter?: string;
}

export interface PartTargets {
  /** The capture filter ('' captures everything). */
  capture?: string;
  break?: { stage: StageName; condition?: string };
  /** The NAT Sessions filter ('' shows them all). */
  sessions?: string;
  conditions?: ConditionPlace[];
}

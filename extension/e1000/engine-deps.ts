import type { NicBus } from './bus';
import type { ProbeHub } from '../pipeline/probe';
import type { E1000Counters } from './counters';
import type { InterruptController } from './interrupts';
import type { Refusals } from './refusals';
import type { Statistics } from './stats';

/** What the TX and RX engines share of the device: its registers, bus, probes and counters. */
export interface EngineDeps {
  readonly regs: Uint32Array;
  readonly bus: NicBus;
  readonly probes: ProbeHub;
  readonly refusals: Refusals;
  readonly stats: Statistics;
  readonly counters: E1000Counters;
  readonly interrupts: InterruptController;
}

import type { E1000Counters } from './counters';
import type { EepromState } from './eeprom';
import type { DelayState, InterruptState } from './interrupts';
import type { TxState } from './tx';

/** Everything the NIC needs to carry on after a VM snapshot is restored. Plain JSON. */
export interface E1000State {
  version: 1;
  mac: number[];
  /** Non-zero MAC registers as [word index, value] pairs. */
  regs: [number, number][];
  eeprom: EepromState;
  phy: number[];
  linkUp: boolean;
  ioAddr: number;
  interrupts: Pick<InterruptState, 'icr' | 'ims' | 'level' | 'sinceAssert'>;
  rxDelay: DelayState;
  txDelay: DelayState;
  tx: TxState;
  counters: E1000Counters;
  refusals: Record<string, number>;
}

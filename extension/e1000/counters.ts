/** What the model counts for the UI and the benchmarks (the guest's own view is the STAT registers). */
export interface E1000Counters {
  txFrames: number;
  txBytes: number;
  /** Frames built but not sent: link down, or refused packets. */
  txDropped: number;
  txDescriptors: number;
  tsoPackets: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames the address/VLAN filters turned away. */
  rxFiltered: number;
  /** Frames arriving while the link was down or RCTL.EN was clear. */
  rxDisabled: number;
  /** Frames lost for lack of RX descriptors (RXO). */
  rxNoDescriptors: number;
  rxOversize: number;
  /** Rising edges of the interrupt line. */
  interrupts: number;
}

export function zeroCounters(): E1000Counters {
  return {
    txFrames: 0,
    txBytes: 0,
    txDropped: 0,
    txDescriptors: 0,
    tsoPackets: 0,
    rxFrames: 0,
    rxBytes: 0,
    rxFiltered: 0,
    rxDisabled: 0,
    rxNoDescriptors: 0,
    rxOversize: 0,
    interrupts: 0,
  };
}

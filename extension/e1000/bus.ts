/**
 * What the e1000 model needs from the machine it is plugged into. The v86
 * adapter (extension/machine/) implements it; unit tests implement it over a
 * plain ArrayBuffer. Nothing here knows of v86.
 */
export interface NicBus {
  /** Size of guest RAM in bytes: DMA beyond it is refused. */
  readonly ramSize: number;
  /** A view of `len` bytes of guest memory at `addr`, or null when outside RAM. Copy it to keep it. */
  dmaRead(addr: number, len: number): Uint8Array | null;
  /** Writes `data` at `addr`; false (nothing written) when outside RAM. */
  dmaWrite(addr: number, data: Uint8Array): boolean;
  /** The level of the device's interrupt line (INTA#). */
  setIrq(level: boolean): void;
}

/** Where the NIC sends frames it transmits (the net queue). */
export type FrameSink = (frame: Uint8Array) => void;

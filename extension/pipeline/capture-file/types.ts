/**
 * What a capture file holds once read: its interfaces and its packets, each
 * packet pointing into the file's bytes (nothing is copied). Shared by the
 * classic pcap and the pcapng readers.
 */

export type CaptureFileFormat = 'pcap' | 'pcapng';

export interface CaptureInterface {
  /** Index in the file (pcapng: across sections, in the order the IDBs come). */
  readonly id: number;
  /** LINKTYPE_* (1 is Ethernet, the only one the dissector reads). */
  readonly linkType: number;
  readonly snaplen: number;
  /** if_name (pcapng), e.g. our stage names; empty when the file gives none. */
  readonly name: string;
  readonly description: string;
}

export interface CapturePacket {
  /** The interface it was captured on (CaptureFile.interfaces). */
  readonly interfaceId: number;
  /** Whole seconds since the epoch. */
  readonly seconds: number;
  /** Nanoseconds within the second. */
  readonly nanos: number;
  /** Where the captured bytes start in the file, and how many there are. */
  readonly offset: number;
  readonly capturedLength: number;
  /** The length on the wire (more than capturedLength when the snap length cut it). */
  readonly originalLength: number;
  /** pcapng opt_comment values, in order (our journey id, stage and NAT mapping). */
  readonly comments: readonly string[];
  /** pcapng epb_flags direction bits: 1 inbound, 2 outbound, 0 unknown. */
  readonly direction: 0 | 1 | 2;
}

export interface CaptureFile {
  readonly format: CaptureFileFormat;
  readonly interfaces: readonly CaptureInterface[];
  readonly packets: readonly CapturePacket[];
  /** Blocks passed over (pcapng: OPB, NRB, ISB, custom, ...), by block type name. */
  readonly skipped: Readonly<Record<string, number>>;
  /**
   * Set when reading stopped early (a file cut short, a bad block): the packets
   * before it are kept, as Wireshark keeps them, and this says what and where.
   */
  readonly problem?: CaptureFileError;
}

/** A capture that cannot be read (further): what is wrong and at which byte. */
export class CaptureFileError extends Error {
  constructor(readonly reason: string, readonly offset: number) {
    super(`${reason} (at byte ${offset})`);
    this.name = 'CaptureFileError';
  }
}

/**
 * Limits, explicit: a capture beyond them is refused or cut with a problem,
 * never read until memory runs out. The defaults suit an editor.
 */
export interface CaptureReadLimits {
  /** Packets read at most; the rest is reported as a problem. */
  readonly maxPackets: number;
  /** A block (pcapng) or record (pcap) longer than this is refused. */
  readonly maxBlockBytes: number;
  readonly maxInterfaces: number;
  /** Comments longer than this are cut (with an ellipsis). */
  readonly maxCommentChars: number;
}

export const DEFAULT_READ_LIMITS: CaptureReadLimits = {
  maxPackets: 2_000_000,
  maxBlockBytes: 16 * 1024 * 1024,
  maxInterfaces: 4096,
  maxCommentChars: 64 * 1024,
};

/** Largest file the editor opens: larger ones want Wireshark (or editcap -c to split). */
export const MAX_CAPTURE_FILE_BYTES = 1024 * 1024 * 1024;

/** Nanoseconds per tick for a resolution of 10^-n (n < 10): the common case, kept in number arithmetic. */
export function splitTicks(ticks: bigint, ticksPerSecond: bigint): { seconds: number; nanos: number } {
  const seconds = ticks / ticksPerSecond;
  const rest = ticks % ticksPerSecond;
  return { seconds: Number(seconds), nanos: Number((rest * 1_000_000_000n) / ticksPerSecond) };
}

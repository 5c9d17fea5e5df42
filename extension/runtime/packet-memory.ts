/**
 * The held packet's bytes behind DAP's readMemory: a memoryReference names
 * one stop ("packet:<n>"), so a reference shown before a continue cannot read
 * another packet's bytes afterwards.
 */
export class MemoryError extends Error {}

/** DAP's readMemory answer, which it is sent as. */
export interface PacketMemory {
  /** The first byte returned, "0x..." */
  address: string;
  data?: string /* base64 */;
  unreadableBytes?: number;
}

const REFERENCE = /^packet:(\d{1,9})$/;
/** A packet is at most a jumbo frame (or a TSO burst); nobody needs more in one read. */
export const MAX_READ = 1 << 20;

export function packetMemoryReference(stopId: number): string {
  return `packet:${stopId}`;
}

export function parsePacketMemoryReference(ref: string): number | undefined {
  const m = REFERENCE.exec(ref);
  return m ? Number(m[1]) : undefined;
}

/** Reads `count` bytes at `offset` of `bytes`; what lies outside the packet is reported unreadable. */
export function readPacketMemory(bytes: Uint8Array, offset: number, count: number): PacketMemory {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || count < 0) {
    throw new MemoryError(`bad readMemory range: offset ${offset}, count ${count}`);
  }
  const want = Math.min(count, MAX_READ);
  // DAP: `address` is the first byte returned; bytes asked for before the packet are skipped,
  // those after the last byte returned are counted as unreadable.
  const start = Math.max(0, offset);
  const requestEnd = offset + want;
  const end = Math.max(start, Math.min(bytes.length, requestEnd));
  const data = bytes.subarray(start, end);
  const unreadable = Math.max(0, requestEnd - Math.max(end, start));
  return {
    address: `0x${start.toString(16)}`,
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
    ...(unreadable ? { unreadableBytes: unreadable } : {}),
  };
}

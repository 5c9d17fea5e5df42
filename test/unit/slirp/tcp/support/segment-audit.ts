import assert from 'node:assert/strict';
import { parseSegment, type ParsedSegment } from './guest-tcp';

/** The link MTU toward the guest, and the IPv4 header the slirp puts in front (no IP options). */
export const MTU = 1500;
export const IP_HEADER = 20;

export interface AuditedSegment {
  parsed: ParsedSegment;
  headerLength: number;
  optionBytes: number;
  ipTotalLength: number;
}

export function audit(segment: Uint8Array): AuditedSegment {
  const headerLength = (segment[12] >> 4) * 4;
  return { parsed: parseSegment(segment), headerLength, optionBytes: headerLength - 20, ipTotalLength: IP_HEADER + segment.length };
}

export interface SizeExpectations {
  /** The effective send MSS: min(the guest's MSS option or 536, ours). */
  effectiveMss: number;
  timestamps: boolean;
  /** The link MTU no datagram may exceed; Ethernet's by default. */
  mtu?: number;
}

/**
 * Checks what RFC 9293 3.7.1 / RFC 6691 ask of every segment toward the guest:
 * payload + option bytes <= effective MSS, so the datagram fits the MTU; and
 * timestamps on every segment exactly when negotiated. Returns the data segments.
 */
export function checkSegmentSizes(segments: readonly Uint8Array[], e: SizeExpectations): AuditedSegment[] {
  const data: AuditedSegment[] = [];
  for (const seg of segments) {
    const a = audit(seg);
    const what = `segment seq ${a.parsed.seq} flags 0x${a.parsed.flags.toString(16)}: ${a.optionBytes} option bytes, ${a.parsed.payload.length} payload`;
    assert.ok(a.ipTotalLength <= (e.mtu ?? MTU), `${what}: IP total length ${a.ipTotalLength} exceeds the MTU`);
    assert.ok(a.optionBytes <= 40, `${what}: too many option bytes`);
    if (a.parsed.flags & 4) continue; // RST carries no options
    assert.equal(a.parsed.ts !== undefined, e.timestamps, `${what}: timestamps ${e.timestamps ? 'missing' : 'not negotiated'}`);
    if (a.parsed.payload.length === 0) continue;
    assert.ok(a.parsed.payload.length + a.optionBytes <= e.effectiveMss, `${what}: payload + options exceed the effective MSS ${e.effectiveMss}`);
    data.push(a);
  }
  return data;
}

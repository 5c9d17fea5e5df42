import { transportChecksum } from '../../wire/checksum';
import { IPPROTO_TCP } from '../../wire/ipv4';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;

export const TCP_HEADER_MIN = 20;

const get32 = (b: Uint8Array, i: number): number => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;

/**
 * Reads a TCP header in place. `valid` is false when the segment is too short
 * for its own data offset; the getters only touch the first 20 bytes, which
 * `wrap` checks are there.
 */
export class TcpSegmentView {
  private bytes: Uint8Array = new Uint8Array(0);

  /** Returns a reason when the header cannot be read, else null. Reads in place: nothing is allocated per segment. */
  wrap(bytes: Uint8Array): string | null {
    if (bytes.length < TCP_HEADER_MIN) return 'truncated-header';
    this.bytes = bytes;
    const off = this.headerLength;
    if (off < TCP_HEADER_MIN || off > bytes.length) return 'bad-data-offset';
    return null;
  }

  get segment(): Uint8Array {
    return this.bytes;
  }
  get srcPort(): number {
    return (this.bytes[0] << 8) | this.bytes[1];
  }
  get dstPort(): number {
    return (this.bytes[2] << 8) | this.bytes[3];
  }
  get seq(): number {
    return get32(this.bytes, 4);
  }
  get ack(): number {
    return get32(this.bytes, 8);
  }
  get headerLength(): number {
    return (this.bytes[12] >> 4) * 4;
  }
  get flags(): number {
    return this.bytes[13] & 0x3f;
  }
  get window(): number {
    return (this.bytes[14] << 8) | this.bytes[15];
  }
  get payloadLength(): number {
    return this.bytes.length - this.headerLength;
  }
}

/** The options of one segment, reused across segments to avoid allocation. */
export class TcpOptions {
  mss = -1;
  windowScale = -1;
  sackPermitted = false;
  hasTimestamp = false;
  tsVal = 0;
  tsEcr = 0;
  /** Pairs of [left, right) edges. */
  readonly sack = new Uint32Array(8);
  sackCount = 0;

  reset(): void {
    this.mss = -1;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.hasTimestamp = false;
    this.sackCount = 0;
  }
}

/** Parses options between byte 20 and the data offset; returns a drop reason or null. */
export function parseOptions(seg: Uint8Array, headerLength: number, out: TcpOptions): string | null {
  out.reset();
  let i = TCP_HEADER_MIN;
  while (i < headerLength) {
    const kind = seg[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= headerLength) return 'truncated-options';
    const len = seg[i + 1];
    if (len < 2 || i + len > headerLength) return 'truncated-options';
    switch (kind) {
      case 2:
        if (len !== 4) return 'bad-options';
        out.mss = (seg[i + 2] << 8) | seg[i + 3];
        break;
      case 3:
        if (len !== 3) return 'bad-options';
        out.windowScale = Math.min(14, seg[i + 2]);
        break;
      case 4:
        if (len !== 2) return 'bad-options';
        out.sackPermitted = true;
        break;
      case 5: {
        if ((len - 2) % 8 !== 0) return 'bad-options';
        const n = Math.min(4, (len - 2) >> 3);
        for (let b = 0; b < n; b++) {
          const p = i + 2 + b * 8;
          out.sack[b * 2] = ((seg[p] << 24) | (seg[p + 1] << 16) | (seg[p + 2] << 8) | seg[p + 3]) >>> 0;
          out.sack[b * 2 + 1] = ((seg[p + 4] << 24) | (seg[p + 5] << 16) | (seg[p + 6] << 8) | seg[p + 7]) >>> 0;
        }
        out.sackCount = n;
        break;
      }
      case 8:
        if (len !== 10) return 'bad-options';
        out.hasTimestamp = true;
        out.tsVal = ((seg[i + 2] << 24) | (seg[i + 3] << 16) | (seg[i + 4] << 8) | seg[i + 5]) >>> 0;
        out.tsEcr = ((seg[i + 6] << 24) | (seg[i + 7] << 16) | (seg[i + 8] << 8) | seg[i + 9]) >>> 0;
        break;
      default:
        break;
    }
    i += len;
  }
  return null;
}

/** What goes into the options of a segment we build. */
export interface OutgoingOptions {
  /** SYN only. */
  mss?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  /** [tsVal, tsEcr] when timestamps are on. */
  timestamp?: readonly [number, number];
  /** SACK blocks as [left, right) pairs, flattened. */
  sackBlocks?: readonly number[];
}

export function optionsLength(o: OutgoingOptions | undefined): number {
  if (!o) return 0;
  let n = 0;
  if (o.mss !== undefined) n += 4;
  if (o.sackPermitted && o.timestamp) n += 12;
  else if (o.timestamp) n += 12;
  else if (o.sackPermitted) n += 4;
  if (o.windowScale !== undefined) n += 4;
  if (o.sackBlocks && o.sackBlocks.length) n += 4 + (o.sackBlocks.length / 2) * 8;
  return (n + 3) & ~3;
}

function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = (v >>> 16) & 255;
  b[i + 2] = (v >>> 8) & 255;
  b[i + 3] = v & 255;
}

/** Writes the options of a header that starts at `at` and is `end` bytes long (padded with NOPs). */
function writeOptions(b: Uint8Array, at: number, o: OutgoingOptions, end: number): void {
  let i = at + TCP_HEADER_MIN;
  end += at;
  if (o.mss !== undefined) {
    b[i++] = 2;
    b[i++] = 4;
    b[i++] = o.mss >> 8;
    b[i++] = o.mss & 255;
  }
  if (o.timestamp) {
    if (o.sackPermitted) {
      b[i++] = 4;
      b[i++] = 2;
    } else {
      b[i++] = 1;
      b[i++] = 1;
    }
    b[i++] = 8;
    b[i++] = 10;
    put32(b, i, o.timestamp[0]);
    put32(b, i + 4, o.timestamp[1]);
    i += 8;
  } else if (o.sackPermitted) {
    b[i++] = 1;
    b[i++] = 1;
    b[i++] = 4;
    b[i++] = 2;
  }
  if (o.windowScale !== undefined) {
    b[i++] = 1;
    b[i++] = 3;
    b[i++] = 3;
    b[i++] = o.windowScale;
  }
  if (o.sackBlocks && o.sackBlocks.length) {
    b[i++] = 1;
    b[i++] = 1;
    b[i++] = 5;
    b[i++] = 2 + (o.sackBlocks.length / 2) * 8;
    for (const edge of o.sackBlocks) {
      put32(b, i, edge);
      i += 4;
    }
  }
  while (i < end) b[i++] = 1;
}

export interface SegmentFields {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  options?: OutgoingOptions;
}

const newBuffer = (length: number): Uint8Array => new Uint8Array(length);

/** What writes a segment's payload into the packet being built (an object, so a connection needs no closure for it). */
export interface PayloadSource {
  fill(dst: Uint8Array, offset: number): void;
}

/**
 * Builds a segment with room for `payloadLength` bytes, which `payload`
 * writes straight into the packet (no intermediate copy), then checksums it.
 * `allocate(length)` gives zeroed bytes with `headroom` bytes before the
 * `length` the segment takes: the frame it will leave in, with room for the
 * Ethernet and IP headers, so the segment is written once and never copied.
 * Returns what `allocate` gave (the segment itself when there is no headroom).
 */
export function buildSegment(
  f: SegmentFields,
  payloadLength = 0,
  payload?: PayloadSource,
  allocate: (length: number) => Uint8Array = newBuffer,
  headroom = 0,
): Uint8Array {
  const optLen = optionsLength(f.options);
  const hdr = TCP_HEADER_MIN + optLen;
  const b = allocate(hdr + payloadLength);
  const o = headroom;
  b[o] = f.srcPort >> 8;
  b[o + 1] = f.srcPort & 255;
  b[o + 2] = f.dstPort >> 8;
  b[o + 3] = f.dstPort & 255;
  put32(b, o + 4, f.seq);
  put32(b, o + 8, f.ack);
  b[o + 12] = (hdr / 4) << 4;
  b[o + 13] = f.flags;
  b[o + 14] = (f.window >> 8) & 255;
  b[o + 15] = f.window & 255;
  if (optLen) writeOptions(b, o, f.options!, hdr);
  if (payloadLength && payload) payload.fill(b, o + hdr);
  const c = transportChecksum(f.src, f.dst, IPPROTO_TCP, b, o, o + hdr + payloadLength);
  b[o + 16] = c >> 8;
  b[o + 17] = c & 255;
  return b;
}

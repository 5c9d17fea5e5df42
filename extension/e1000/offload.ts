import { finishChecksum, foldChecksum, sumWords } from '../wire/checksum';
import { TUCMD, TXD_POPTS } from './registers';

/** What a context descriptor sets up for the data descriptors that follow it. */
export interface TxContext {
  ipcss: number;
  ipcso: number;
  ipcse: number;
  tucss: number;
  tucso: number;
  tucse: number;
  paylen: number;
  tucmd: number;
  hdrLen: number;
  mss: number;
}

export function emptyContext(): TxContext {
  return { ipcss: 0, ipcso: 0, ipcse: 0, tucss: 0, tucso: 0, tucse: 0, paylen: 0, tucmd: 0, hdrLen: 0, mss: 0 };
}

export function readContext(d: Uint8Array): TxContext {
  return {
    ipcss: d[0],
    ipcso: d[1],
    ipcse: d[2] | (d[3] << 8),
    tucss: d[4],
    tucso: d[5],
    tucse: d[6] | (d[7] << 8),
    paylen: (d[8] | (d[9] << 8) | (d[10] << 16)) & 0xfffff,
    tucmd: d[11],
    hdrLen: d[13],
    mss: d[14] | (d[15] << 8),
  };
}

/**
 * Checksum insertion: the ones'-complement sum of [css, cse] (cse 0: to the
 * end) is complemented and stored big-endian at `at`. Whatever the field held
 * (the driver's pseudo-header sum) is part of the sum. `noZero` writes 0xffff
 * for a zero result, as UDP requires.
 */
export function insertChecksum(frame: Uint8Array, at: number, css: number, cse: number, noZero: boolean): boolean {
  let end = frame.length;
  if (cse !== 0 && cse < end) end = cse + 1;
  if (at + 1 >= end || css >= end) return false;
  let sum = finishChecksum(sumWords(frame, css, end));
  if (noZero && sum === 0) sum = 0xffff;
  frame[at] = sum >>> 8;
  frame[at + 1] = sum & 0xff;
  return true;
}

function get16(f: Uint8Array, at: number): number {
  return (f[at] << 8) | f[at + 1];
}

function put16(f: Uint8Array, at: number, v: number): void {
  f[at] = (v >>> 8) & 0xff;
  f[at + 1] = v & 0xff;
}

/** Applies the checksum options of a non-TSO packet (POPTS IXSM/TXSM) with its context. */
export function applyChecksums(frame: Uint8Array, ctx: TxContext, popts: number): void {
  if (popts & TXD_POPTS.TXSM) insertChecksum(frame, ctx.tucso, ctx.tucss, ctx.tucse, true);
  if (popts & TXD_POPTS.IXSM) insertChecksum(frame, ctx.ipcso, ctx.ipcss, ctx.ipcse, false);
}

const TCP_FIN = 0x01;
const TCP_PSH = 0x08;

/**
 * TCP/UDP segmentation (manual 8.2.4 / 3.5): `packet` is the header (hdrLen
 * bytes, as the driver prepared it) followed by the whole payload. Each
 * segment gets a copy of the header with the IP length and id, the TCP
 * sequence number (or UDP length) patched, PSH and FIN only on the last one,
 * and the checksums the data descriptor asked for. Returns a refusal reason
 * when the context cannot describe this packet.
 */
export function segmentTso(packet: Uint8Array, ctx: TxContext, popts: number): Uint8Array[] | string {
  const { hdrLen, mss, ipcss, tucss } = ctx;
  if (mss === 0) return 'tso-mss-zero';
  if (hdrLen === 0 || hdrLen > packet.length) return 'tso-header-length-invalid';
  const ipv4 = (ctx.tucmd & TUCMD.IP) !== 0;
  const tcp = (ctx.tucmd & TUCMD.TCP) !== 0;
  if (ipcss + (ipv4 ? 20 : 40) > hdrLen || tucss + (tcp ? 20 : 8) > hdrLen || ctx.tucso + 2 > hdrLen) {
    return 'tso-header-offsets-beyond-header';
  }
  const payload = packet.length - hdrLen;
  const count = Math.max(1, Math.ceil(payload / mss));
  const firstId = get16(packet, ipcss + 4);
  const firstSeq = ((packet[tucss + 4] << 24) | (packet[tucss + 5] << 16) | (packet[tucss + 6] << 8) | packet[tucss + 7]) >>> 0;
  const segments: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const offset = k * mss;
    const len = Math.min(mss, payload - offset);
    const seg = new Uint8Array(hdrLen + len);
    seg.set(packet.subarray(0, hdrLen));
    seg.set(packet.subarray(hdrLen + offset, hdrLen + offset + len), hdrLen);
    if (ipv4) {
      put16(seg, ipcss + 2, seg.length - ipcss);
      put16(seg, ipcss + 4, (firstId + k) & 0xffff);
    } else {
      put16(seg, ipcss + 4, seg.length - ipcss - 40);
    }
    const l4len = seg.length - tucss;
    if (tcp) {
      const seq = (firstSeq + offset) >>> 0;
      seg[tucss + 4] = seq >>> 24;
      seg[tucss + 5] = (seq >>> 16) & 0xff;
      seg[tucss + 6] = (seq >>> 8) & 0xff;
      seg[tucss + 7] = seq & 0xff;
      if (k < count - 1) seg[tucss + 13] &= ~(TCP_FIN | TCP_PSH);
    } else {
      put16(seg, tucss + 4, l4len);
    }
    if (popts & TXD_POPTS.TXSM) {
      // The driver left the pseudo-header sum without the length: add this segment's.
      put16(seg, ctx.tucso, foldChecksum(get16(seg, ctx.tucso) + l4len));
      insertChecksum(seg, ctx.tucso, tucss, 0, !tcp);
    }
    if (popts & TXD_POPTS.IXSM) insertChecksum(seg, ctx.ipcso, ipcss, ctx.ipcse, false);
    segments.push(seg);
  }
  return segments;
}

/** Inserts an 802.1Q tag (TPID = VET, TCI = the descriptor's special field) after the MAC addresses. */
export function insertVlanTag(frame: Uint8Array, vet: number, tci: number): Uint8Array {
  if (frame.length < 12) return frame;
  const out = new Uint8Array(frame.length + 4);
  out.set(frame.subarray(0, 12));
  put16(out, 12, vet & 0xffff);
  put16(out, 14, tci & 0xffff);
  out.set(frame.subarray(12), 16);
  return out;
}

import type { Writable } from 'node:stream';
import { CaptureWriter, DEFAULT_MAX_BUFFERED, DEFAULT_SNAPLEN, LINKTYPE_ETHERNET, type FrameMark } from './capture-writer';

/**
 * Classic libpcap files (what tcpdump -w writes): a 24-byte header, then per
 * frame a 16-byte record header and the captured bytes. Written little-endian
 * with magic 0xa1b2c3d4, so readers see microsecond timestamps. Neither stage
 * nor comment has a place in this format.
 */
export const PCAP_MAGIC = 0xa1b2c3d4;

export function pcapFileHeader(snaplen: number): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(PCAP_MAGIC, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeInt32LE(0, 8); // thiszone: timestamps are UTC
  h.writeUInt32LE(0, 12); // sigfigs
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return h;
}

export class PcapWriter extends CaptureWriter {
  constructor(stream: Writable, snaplen = DEFAULT_SNAPLEN, maxBuffered = DEFAULT_MAX_BUFFERED) {
    super(stream, snaplen, maxBuffered, pcapFileHeader(snaplen), 16);
  }

  protected encode(frame: Uint8Array, caplen: number, micros: number, _mark: FrameMark): Buffer {
    const rec = Buffer.allocUnsafe(16 + caplen);
    rec.writeUInt32LE(Math.floor(micros / 1e6) >>> 0, 0);
    rec.writeUInt32LE(micros % 1e6, 4);
    rec.writeUInt32LE(caplen, 8);
    rec.writeUInt32LE(frame.length, 12);
    rec.set(frame.subarray(0, caplen), 16);
    return rec;
  }
}

/**
 * Reading capture files (classic pcap and pcapng) for the capture editor and
 * tests: the format is told by the first four bytes, not the file name.
 */
import { classicMagic, readClassicPcap } from './classic';
import { isPcapng, readPcapng } from './pcapng';
import { CaptureFileError, DEFAULT_READ_LIMITS, type CaptureFile, type CaptureReadLimits } from './types';

export * from './types';

export function readCaptureFile(bytes: Uint8Array, limits: CaptureReadLimits = DEFAULT_READ_LIMITS): CaptureFile {
  if (isPcapng(bytes)) return readPcapng(bytes, limits);
  if (classicMagic(bytes)) return readClassicPcap(bytes, limits);
  if (bytes.length < 4) throw new CaptureFileError(`not a capture file: only ${bytes.length} bytes`, 0);
  throw new CaptureFileError('not a pcap or pcapng file: unknown magic number', 0);
}

/** The captured bytes of one packet, a view into the file's bytes. */
export function packetBytes(bytes: Uint8Array, packet: { offset: number; capturedLength: number }): Uint8Array {
  return bytes.subarray(packet.offset, packet.offset + packet.capturedLength);
}

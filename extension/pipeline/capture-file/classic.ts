/**
 * Classic libpcap files (tcpdump -w, QEMU's filter-dump, our --pcap x.pcap):
 * a 24-byte header whose magic says the byte order and the timestamp unit
 * (0xa1b2c3d4 microseconds, 0xa1b23c4d nanoseconds), then per packet a
 * 16-byte record header and the captured bytes.
 */
import { CaptureFileError, DEFAULT_READ_LIMITS, type CaptureFile, type CapturePacket, type CaptureReadLimits } from './types';

const MAGIC_MICROS = 0xa1b2c3d4;
const MAGIC_NANOS = 0xa1b23c4d;
const HEADER = 24;
const RECORD = 16;

/** The byte order and unit a classic magic number stands for, or undefined when it is not one. */
export function classicMagic(bytes: Uint8Array): { littleEndian: boolean; nanos: boolean } | undefined {
  if (bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 4);
  for (const littleEndian of [true, false]) {
    const m = view.getUint32(0, littleEndian);
    if (m === MAGIC_MICROS) return { littleEndian, nanos: false };
    if (m === MAGIC_NANOS) return { littleEndian, nanos: true };
  }
  return undefined;
}

export function readClassicPcap(bytes: Uint8Array, limits: CaptureReadLimits = DEFAULT_READ_LIMITS): CaptureFile {
  const magic = classicMagic(bytes);
  if (!magic) throw new CaptureFileError('not a pcap file: unknown magic number', 0);
  if (bytes.length < HEADER) throw new CaptureFileError(`pcap file header cut short: ${bytes.length} of ${HEADER} bytes`, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = magic.littleEndian;
  const major = view.getUint16(4, le);
  if (major !== 2) throw new CaptureFileError(`pcap version ${major}.${view.getUint16(6, le)} is not 2.x`, 4);
  const snaplen = view.getUint32(16, le);
  // The upper bits of the link-type word carry the FCS length (pcap-linktype(7)); the type is the low 28.
  const linkType = view.getUint32(20, le) & 0x0fffffff;
  const packets: CapturePacket[] = [];
  let problem: CaptureFileError | undefined;
  let off = HEADER;
  while (off < bytes.length) {
    if (packets.length >= limits.maxPackets) {
      problem = new CaptureFileError(`more than ${limits.maxPackets} packets: the rest is not read`, off);
      break;
    }
    if (off + RECORD > bytes.length) {
      problem = new CaptureFileError(`the file is cut short inside a record header (${bytes.length - off} of ${RECORD} bytes)`, off);
      break;
    }
    const seconds = view.getUint32(off, le);
    const fraction = view.getUint32(off + 4, le);
    const caplen = view.getUint32(off + 8, le);
    const origlen = view.getUint32(off + 12, le);
    if (caplen > limits.maxBlockBytes) {
      problem = new CaptureFileError(`record of ${caplen} bytes is larger than the ${limits.maxBlockBytes}-byte limit: the file is damaged`, off);
      break;
    }
    if (fraction >= (magic.nanos ? 1e9 : 1e6)) {
      problem = new CaptureFileError(`timestamp fraction ${fraction} is out of range: the file is damaged`, off + 4);
      break;
    }
    if (off + RECORD + caplen > bytes.length) {
      problem = new CaptureFileError(`the file is cut short inside packet ${packets.length + 1} (${bytes.length - off - RECORD} of ${caplen} bytes)`, off);
      break;
    }
    packets.push({
      interfaceId: 0, seconds, nanos: magic.nanos ? fraction : fraction * 1000,
      offset: off + RECORD, capturedLength: caplen, originalLength: Math.max(origlen, caplen), comments: [], direction: 0,
    });
    off += RECORD + caplen;
  }
  return {
    format: 'pcap',
    interfaces: [{ id: 0, linkType, snaplen, name: '', description: '' }],
    packets,
    skipped: {},
    ...(problem ? { problem } : {}),
  };
}

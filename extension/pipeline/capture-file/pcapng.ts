/**
 * pcapng reader (draft-ietf-opsawg-pcapng), for our files and anyone's: every
 * section (its own byte order), its interfaces (link type, if_name,
 * if_description, if_tsresol, if_tsoffset), Enhanced and Simple Packet Blocks
 * with their comments and direction flags. Obsolete Packet Blocks, name
 * resolution, statistics, decryption secrets and custom blocks are passed over
 * and counted. Every block moves the reader forward by its declared length
 * (at least 12 bytes), so a damaged file ends in a problem, never a loop.
 */
import { CaptureFileError, DEFAULT_READ_LIMITS, splitTicks, type CaptureFile, type CaptureInterface, type CapturePacket, type CaptureReadLimits } from './types';

export const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB = 1;
const OPB = 2;
const SPB = 3;
const EPB = 6;
const SKIPPED_NAMES: Readonly<Record<number, string>> = {
  [OPB]: 'obsolete packet', 4: 'name resolution', 5: 'interface statistics', 0x0a: 'decryption secrets',
  0xbad: 'custom', 0x40000bad: 'custom', 9: 'systemd journal export',
};
const OPT_END = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const EPB_FLAGS = 2;

const utf8 = new TextDecoder('utf-8', { fatal: false });

interface SectionInterface {
  readonly global: number;
  readonly snaplen: number;
  readonly ticksPerSecond: bigint;
  readonly offsetSeconds: number;
}

type Option = { code: number; value: Uint8Array; at: number };

export function isPcapng(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === PCAPNG_SHB;
}

export function readPcapng(bytes: Uint8Array, limits: CaptureReadLimits = DEFAULT_READ_LIMITS): CaptureFile {
  if (!isPcapng(bytes)) throw new CaptureFileError('not a pcapng file: it does not start with a section header block', 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const interfaces: CaptureInterface[] = [];
  const packets: CapturePacket[] = [];
  const skipped: Record<string, number> = {};
  let section: SectionInterface[] = [];
  let le = true;
  let problem: CaptureFileError | undefined;

  const cut = (s: string) => (s.length > limits.maxCommentChars ? `${s.slice(0, limits.maxCommentChars)}…` : s);

  /** Options from `start` to `end`; throws on one that runs past the block. */
  const readOptions = (start: number, end: number): Option[] => {
    const list: Option[] = [];
    let p = start;
    while (p + 4 <= end) {
      const code = view.getUint16(p, le);
      const length = view.getUint16(p + 2, le);
      if (code === OPT_END) break;
      if (p + 4 + length > end) throw new CaptureFileError(`option ${code} of ${length} bytes runs past its block`, p);
      list.push({ code, value: bytes.subarray(p + 4, p + 4 + length), at: p });
      p += 4 + ((length + 3) & ~3);
    }
    return list;
  };

  const readSection = (off: number, total: number): void => {
    if (total < 28) throw new CaptureFileError(`section header block of ${total} bytes is shorter than 28`, off);
    const major = view.getUint16(off + 12, le);
    if (major !== 1) throw new CaptureFileError(`pcapng version ${major}.${view.getUint16(off + 14, le)} is not 1.x`, off + 12);
    section = [];
  };

  const readInterface = (off: number, total: number): void => {
    if (total < 20) throw new CaptureFileError(`interface description block of ${total} bytes is shorter than 20`, off);
    if (interfaces.length >= limits.maxInterfaces) throw new CaptureFileError(`more than ${limits.maxInterfaces} interfaces`, off);
    const linkType = view.getUint16(off + 8, le);
    const snaplen = view.getUint32(off + 12, le);
    let name = '';
    let description = '';
    let ticksPerSecond = 1_000_000n;
    let offsetSeconds = 0;
    for (const o of readOptions(off + 16, off + total - 4)) {
      if (o.code === IF_NAME) name = cut(utf8.decode(o.value));
      else if (o.code === IF_DESCRIPTION) description = cut(utf8.decode(o.value));
      else if (o.code === IF_TSRESOL && o.value.length >= 1) {
        const r = o.value[0]!;
        const exponent = r & 0x7f;
        // 2^-127 or 10^-127 ticks are no clock: refuse what no writer makes.
        if (exponent > 30 && (r & 0x80) === 0) throw new CaptureFileError(`if_tsresol 10^-${exponent} is out of range`, o.at);
        ticksPerSecond = r & 0x80 ? 1n << BigInt(Math.min(exponent, 63)) : 10n ** BigInt(exponent);
      } else if (o.code === IF_TSOFFSET && o.value.length >= 8) {
        offsetSeconds = Number(new DataView(o.value.buffer, o.value.byteOffset, 8).getBigInt64(0, le));
      }
    }
    const global = interfaces.length;
    interfaces.push({ id: global, linkType, snaplen, name, description });
    section.push({ global, snaplen, ticksPerSecond, offsetSeconds });
  };

  const interfaceOf = (local: number, at: number): SectionInterface => {
    const i = section[local];
    if (!i) throw new CaptureFileError(`packet on interface ${local}, which this section does not describe`, at);
    return i;
  };

  const readEnhanced = (off: number, total: number): void => {
    if (total < 32) throw new CaptureFileError(`enhanced packet block of ${total} bytes is shorter than 32`, off);
    const iface = interfaceOf(view.getUint32(off + 8, le), off + 8);
    const ticks = (BigInt(view.getUint32(off + 12, le)) << 32n) | BigInt(view.getUint32(off + 16, le));
    const caplen = view.getUint32(off + 20, le);
    const origlen = view.getUint32(off + 24, le);
    // Not (caplen + 3) & ~3: a damaged length past 2^31 would turn negative in 32-bit arithmetic.
    const dataEnd = off + 28 + caplen + ((4 - (caplen % 4)) % 4);
    if (dataEnd > off + total - 4) throw new CaptureFileError(`packet of ${caplen} captured bytes does not fit its ${total}-byte block`, off + 20);
    const comments: string[] = [];
    let direction: 0 | 1 | 2 = 0;
    for (const o of readOptions(dataEnd, off + total - 4)) {
      if (o.code === OPT_COMMENT) comments.push(cut(utf8.decode(o.value)));
      else if (o.code === EPB_FLAGS && o.value.length >= 4) direction = (new DataView(o.value.buffer, o.value.byteOffset, 4).getUint32(0, le) & 3) as 0 | 1 | 2;
    }
    // Direction 3 is reserved: shown as unknown.
    if ((direction as number) === 3) direction = 0;
    const { seconds, nanos } = splitTicks(ticks, iface.ticksPerSecond);
    packets.push({
      interfaceId: iface.global, seconds: seconds + iface.offsetSeconds, nanos,
      offset: off + 28, capturedLength: caplen, originalLength: Math.max(origlen, caplen), comments, direction,
    });
  };

  /** SPB: no timestamp, no interface id (the section's first), captured length from the snap length. */
  const readSimple = (off: number, total: number): void => {
    if (total < 16) throw new CaptureFileError(`simple packet block of ${total} bytes is shorter than 16`, off);
    const iface = interfaceOf(0, off);
    const origlen = view.getUint32(off + 8, le);
    const room = total - 16;
    const caplen = Math.min(origlen, room, iface.snaplen || room);
    packets.push({ interfaceId: iface.global, seconds: 0, nanos: 0, offset: off + 12, capturedLength: caplen, originalLength: origlen, comments: [], direction: 0 });
  };

  let off = 0;
  try {
    while (off < bytes.length) {
      if (off + 12 > bytes.length) throw new CaptureFileError(`the file is cut short inside a block header (${bytes.length - off} bytes left)`, off);
      let type = view.getUint32(off, le);
      if (type === PCAPNG_SHB) {
        // The byte order is the section's own: read it before the lengths.
        const magic = view.getUint32(off + 8, true);
        if (magic === BYTE_ORDER_MAGIC) le = true;
        else if (magic === 0x4d3c2b1a) le = false;
        else throw new CaptureFileError(`section header with byte-order magic 0x${magic.toString(16)}`, off + 8);
        type = PCAPNG_SHB;
      }
      const total = view.getUint32(off + 4, le);
      if (total < 12 || total % 4 !== 0) throw new CaptureFileError(`block length ${total} is not a multiple of 4 of at least 12`, off + 4);
      if (total > limits.maxBlockBytes) throw new CaptureFileError(`block of ${total} bytes is larger than the ${limits.maxBlockBytes}-byte limit`, off + 4);
      if (off + total > bytes.length) throw new CaptureFileError(`the file is cut short inside a block of ${total} bytes (${bytes.length - off} left)`, off);
      if (view.getUint32(off + total - 4, le) !== total) throw new CaptureFileError(`block's trailing length ${view.getUint32(off + total - 4, le)} differs from its leading ${total}`, off + total - 4);
      const isPacket = type === EPB || type === SPB;
      if (isPacket && packets.length >= limits.maxPackets) throw new CaptureFileError(`more than ${limits.maxPackets} packets: the rest is not read`, off);
      if (type === PCAPNG_SHB) readSection(off, total);
      else if (type === IDB) readInterface(off, total);
      else if (type === EPB) readEnhanced(off, total);
      else if (type === SPB) readSimple(off, total);
      else {
        const name = SKIPPED_NAMES[type] ?? `type 0x${type.toString(16)}`;
        skipped[name] = (skipped[name] ?? 0) + 1;
      }
      off += total;
    }
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
    // The first section header must be whole: anything else is not a file we can show.
    if (interfaces.length === 0 && packets.length === 0 && off === 0) throw e;
    problem = e;
  }
  return { format: 'pcapng', interfaces, packets, skipped, ...(problem ? { problem } : {}) };
}

/**
 * pcapng (draft-ietf-opsawg-pcapng): what Wireshark writes by default. Usernet
 * writes one section, one interface per capture point (named after its stage,
 * so Wireshark's interface column says where the frame was seen) and an
 * Enhanced Packet Block per frame whose comment carries the frame's journey,
 * its stage and its NAT mapping: `tshark -r f -T fields -e frame.comment`.
 * Little-endian, microsecond timestamps (the default if_tsresol).
 */
import type { Writable } from 'node:stream';
import { CaptureWriter, DEFAULT_MAX_BUFFERED, DEFAULT_SNAPLEN, LINKTYPE_ETHERNET, type FrameMark } from './capture-writer';
import { STAGE_BY_NAME, type StageName } from './stages';

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const EPB_FLAGS = 2;
/** epb_flags bits 0-1: 1 inbound (toward the guest), 2 outbound (from the guest). */
const INBOUND = 1;
const OUTBOUND = 2;

const pad4 = (n: number) => (n + 3) & ~3;

/** Options as code, value; each padded to 32 bits, then opt_endofopt. */
function options(list: ReadonlyArray<readonly [number, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of list) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(code, 0);
    head.writeUInt16LE(value.length, 2);
    parts.push(head, value, Buffer.alloc(pad4(value.length) - value.length));
  }
  if (parts.length) parts.push(Buffer.alloc(4)); // opt_endofopt
  return Buffer.concat(parts);
}

/** type, total length, body, total length again. */
function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}

export function sectionHeaderBlock(application: string): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  fixed.writeUInt16LE(1, 4);
  fixed.writeUInt16LE(0, 6);
  fixed.writeBigInt64LE(-1n, 8); // section length not given
  return block(SHB, Buffer.concat([fixed, options([[SHB_USERAPPL, Buffer.from(application)]])]));
}

export function interfaceBlock(stage: StageName, snaplen: number): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16LE(LINKTYPE_ETHERNET, 0);
  fixed.writeUInt32LE(snaplen, 4);
  const info = STAGE_BY_NAME.get(stage)!;
  const description = `usernet ${info.direction === 'tx' ? 'guest to host' : 'host to guest'}: ${info.description}`;
  return block(IDB, Buffer.concat([fixed, options([[IF_NAME, Buffer.from(stage)], [IF_DESCRIPTION, Buffer.from(description)]])]));
}

/** Writes pcapng to a stream, an interface per stage announced the first time a frame is seen there. */
export class PcapngWriter extends CaptureWriter {
  private readonly interfaces = new Map<StageName, number>();

  constructor(stream: Writable, snaplen = DEFAULT_SNAPLEN, maxBuffered = DEFAULT_MAX_BUFFERED) {
    super(stream, snaplen, maxBuffered, sectionHeaderBlock('usernet'), 32);
  }

  protected encode(frame: Uint8Array, caplen: number, micros: number, { stage, comment }: FrameMark): Buffer {
    let iface = this.interfaces.get(stage);
    if (iface === undefined) {
      iface = this.interfaces.size;
      this.interfaces.set(stage, iface);
      this.push(interfaceBlock(stage, this.snaplen));
    }
    const t = BigInt(micros);
    const fixed = Buffer.alloc(20 + pad4(caplen));
    fixed.writeUInt32LE(iface, 0);
    fixed.writeUInt32LE(Number(t >> 32n), 4);
    fixed.writeUInt32LE(Number(t & 0xffffffffn), 8);
    fixed.writeUInt32LE(caplen, 12);
    fixed.writeUInt32LE(frame.length, 16);
    fixed.set(frame.subarray(0, caplen), 20);
    const flags = Buffer.alloc(4);
    flags.writeUInt32LE(STAGE_BY_NAME.get(stage)!.direction === 'tx' ? OUTBOUND : INBOUND, 0);
    const opts = options([...(comment ? [[OPT_COMMENT, Buffer.from(comment)] as const] : []), [EPB_FLAGS, flags]]);
    return block(EPB, Buffer.concat([fixed, opts]));
  }
}

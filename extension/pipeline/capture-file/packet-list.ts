/**
 * A capture file as the capture editor shows it: rows (no., time, source,
 * destination, protocol, length, info, interface) made when first asked for,
 * the filter language narrowing them, one packet's decode (the dissector and
 * field names of the debugger's Variables) and its conversation. No 'vscode'
 * here: the editor's host and the tests drive it alike.
 */
import { formatIpv4, formatMac } from '../../wire/address';
import { get16, get32 } from '../../wire/bytes';
import { formatIpv6 } from '../../wire/ipv6-address';
import { describe, describeHit, summarize, type DissectedTree } from '../dissect';
import { PacketView } from '../dissect/packet-view';
import { compileFilter } from '../filter';
import { isStageName, type StageName } from '../stages';
import { conversationOf, type Conversation } from './conversation';
import { packetBytes, type CaptureFile, type CaptureInterface, type CapturePacket } from './index';

export const LINKTYPE_ETHERNET = 1;

export interface PacketRow {
  /** 1-based, as Wireshark numbers packets. */
  readonly no: number;
  /** Seconds since the first packet, 6 decimals. */
  readonly time: string;
  readonly source: string;
  readonly destination: string;
  readonly protocol: string;
  readonly length: number;
  readonly info: string;
  /** The interface's name (our stage), or its number when it has none. */
  readonly iface: string;
  /** The packet carries comments (journey, stage, NAT mapping in ours). */
  readonly commented: boolean;
}

export interface PacketDetails {
  readonly no: number;
  /** Layer -> field name -> value, the Variables view's tree; the first layer is the capture's record. */
  readonly tree: DissectedTree;
  readonly comments: readonly string[];
  readonly bytes: Uint8Array;
  readonly conversation?: Conversation;
}

/** One packet of a conversation as the flow view takes it (ui/flow-source.ts framesFlowSource). */
export interface ConversationFrame {
  readonly frame: Uint8Array;
  /** Milliseconds since the capture's first packet. */
  readonly time: number;
  /** The journey id our pcapng comments carry. */
  readonly journey?: number;
  /** The packet's comments, shown under its decode. */
  readonly note?: string;
}

/** The "Show Flow" model: one conversation's packets, in capture order. */
export interface ConversationPackets {
  readonly conversation: Conversation;
  readonly packets: readonly PacketRow[];
  readonly frames: readonly ConversationFrame[];
}

/** Conversations longer than this are cut for a flow (the rest would not be read on a diagram anyway). */
export const MAX_FLOW_PACKETS = 5000;

export class PacketList {
  private readonly rowCache: Array<PacketRow | undefined>;
  /** Packet indexes (0-based) the filter lets through; all when there is no filter. */
  private shownIndexes: number[];
  private filterText = '';
  private made = 0;
  private readonly startSeconds: number;
  private readonly startNanos: number;

  constructor(readonly bytes: Uint8Array, readonly file: CaptureFile) {
    this.rowCache = new Array(file.packets.length);
    this.shownIndexes = file.packets.map((_, i) => i);
    const first = file.packets[0];
    this.startSeconds = first?.seconds ?? 0;
    this.startNanos = first?.nanos ?? 0;
  }

  get total(): number {
    return this.file.packets.length;
  }

  get shown(): number {
    return this.shownIndexes.length;
  }

  /** Rows made so far: they are made when first asked for, so a scroll costs only the rows in view. */
  get rowsMade(): number {
    return this.made;
  }

  get filter(): string {
    return this.filterText;
  }

  /** Narrows the list; a bad filter throws FilterSyntaxError and leaves the list as it was. */
  setFilter(text: string): number {
    const trimmed = text.trim();
    if (!trimmed) {
      this.shownIndexes = this.file.packets.map((_, i) => i);
    } else {
      const filter = compileFilter(trimmed);
      const shown: number[] = [];
      for (let i = 0; i < this.file.packets.length; i++) {
        const p = this.file.packets[i]!;
        if (!this.isEthernet(p)) continue;
        const frame = packetBytes(this.bytes, p);
        const stage = this.stageOf(p);
        if (stage ? filter.matches({ stage, frame }) : filter.matchesFrame(frame)) shown.push(i);
      }
      this.shownIndexes = shown;
    }
    this.filterText = trimmed;
    return this.shownIndexes.length;
  }

  /** Rows start..start+count-1 of the filtered list. */
  rows(start: number, count: number): PacketRow[] {
    const end = Math.min(this.shownIndexes.length, Math.max(0, start) + Math.max(0, count));
    const rows: PacketRow[] = [];
    for (let i = Math.max(0, start); i < end; i++) rows.push(this.row(this.shownIndexes[i]!));
    return rows;
  }

  /** Where packet `no` sits in the filtered list, or -1. */
  positionOf(no: number): number {
    return binarySearch(this.shownIndexes, no - 1);
  }

  details(no: number): PacketDetails | undefined {
    const p = this.file.packets[no - 1];
    if (!p) return undefined;
    const frame = packetBytes(this.bytes, p);
    const iface = this.file.interfaces[p.interfaceId];
    const record: Record<string, string> = {
      'frame.number': String(no),
      'frame.interface_name': iface ? interfaceLabel(iface) : String(p.interfaceId),
      ...(iface?.description ? { 'frame.interface_description': iface.description } : {}),
      'frame.time': absoluteTime(p),
      'frame.time_relative': this.relativeTime(p),
      'frame.cap_len': String(p.capturedLength),
      ...(p.direction ? { 'frame.direction': p.direction === 1 ? 'inbound (toward the guest)' : 'outbound (from the guest)' } : {}),
      ...(iface && iface.linkType !== LINKTYPE_ETHERNET ? { 'frame.link_type': `${iface.linkType} (not dissected: only Ethernet is)` } : {}),
    };
    const tree: DissectedTree = { capture: record };
    if (this.isEthernet(p)) {
      const stage = this.stageOf(p);
      Object.assign(tree, stage ? describeHit({ stage, frame }) : describe(frame));
    }
    const conversation = this.isEthernet(p) ? conversationOf(new PacketView(frame)) : undefined;
    return { no, tree, comments: p.comments, bytes: frame, ...(conversation ? { conversation } : {}) };
  }

  /** Every packet of packet `no`'s conversation (whatever the filter), in order. */
  conversation(no: number): ConversationPackets | undefined {
    const p = this.file.packets[no - 1];
    if (!p || !this.isEthernet(p)) return undefined;
    const conversation = conversationOf(new PacketView(packetBytes(this.bytes, p)));
    if (!conversation) return undefined;
    const packets: PacketRow[] = [];
    const frames: ConversationFrame[] = [];
    const view = new PacketView(new Uint8Array(0));
    for (let i = 0; i < this.file.packets.length && packets.length < MAX_FLOW_PACKETS; i++) {
      const q = this.file.packets[i]!;
      if (!this.isEthernet(q)) continue;
      const frame = packetBytes(this.bytes, q);
      if (conversationOf(view.reset(frame))?.key !== conversation.key) continue;
      packets.push(this.row(i));
      const journey = q.comments.map((c) => /\bjourney (\d+)/.exec(c)?.[1]).find(Boolean);
      frames.push({
        frame, time: (q.seconds - this.startSeconds) * 1000 + (q.nanos - this.startNanos) / 1e6,
        ...(journey ? { journey: Number(journey) } : {}), ...(q.comments.length ? { note: q.comments.join('\n') } : {}),
      });
    }
    return { conversation, packets, frames };
  }

  private row(index: number): PacketRow {
    const cached = this.rowCache[index];
    if (cached) return cached;
    const p = this.file.packets[index]!;
    const iface = this.file.interfaces[p.interfaceId];
    const base = { no: index + 1, time: this.relativeTime(p), length: p.originalLength, iface: iface ? interfaceLabel(iface) : String(p.interfaceId), commented: p.comments.length > 0 };
    const row: PacketRow = this.isEthernet(p)
      ? { ...base, ...columns(packetBytes(this.bytes, p)) }
      : { ...base, source: '', destination: '', protocol: `link type ${iface?.linkType ?? '?'}`, info: `${p.capturedLength} bytes (only Ethernet is dissected)` };
    this.rowCache[index] = row;
    this.made++;
    return row;
  }

  private isEthernet(p: CapturePacket): boolean {
    return this.file.interfaces[p.interfaceId]?.linkType === LINKTYPE_ETHERNET;
  }

  /** Our captures name each interface after its stage: pipeline.stage then works in filters and the decode. */
  private stageOf(p: CapturePacket): StageName | undefined {
    const name = this.file.interfaces[p.interfaceId]?.name;
    return name && isStageName(name) ? name : undefined;
  }

  private relativeTime(p: CapturePacket): string {
    const nanos = (p.seconds - this.startSeconds) * 1e9 + (p.nanos - this.startNanos);
    return (nanos / 1e9).toFixed(6);
  }
}

function interfaceLabel(i: CaptureInterface): string {
  return i.name || `interface ${i.id}`;
}

function absoluteTime(p: CapturePacket): string {
  const iso = new Date(p.seconds * 1000).toISOString();
  return `${iso.slice(0, 19)}.${String(p.nanos).padStart(9, '0')}Z`;
}

/** Source, destination, protocol and info of an Ethernet frame, Wireshark's columns. */
function columns(frame: Uint8Array): Pick<PacketRow, 'source' | 'destination' | 'protocol' | 'info'> {
  const v = new PacketView(frame).layers();
  const f = frame;
  let source = frame.length >= 12 ? formatMac(f.subarray(6, 12)) : '';
  let destination = frame.length >= 6 ? formatMac(f.subarray(0, 6)) : '';
  if (v.network === 'ip') {
    source = formatIpv4(get32(f, v.l3Off + 12));
    destination = formatIpv4(get32(f, v.l3Off + 16));
  } else if (v.network === 'ipv6') {
    source = formatIpv6(f.subarray(v.l3Off + 8, v.l3Off + 24));
    destination = formatIpv6(f.subarray(v.l3Off + 24, v.l3Off + 40));
  }
  const protocol = v.app !== 'none' ? v.app.toUpperCase()
    : v.transport !== 'none' ? (v.transport === 'icmpv6' ? 'ICMPv6' : v.transport.toUpperCase())
      : v.network === 'arp' ? 'ARP' : v.network === 'ip' ? 'IPv4' : v.network === 'ipv6' ? 'IPv6'
        : v.etherType >= 0 ? `0x${v.etherType.toString(16).padStart(4, '0')}` : 'Ethernet';
  // summarize() leads with "src -> dst" (and ports); the columns say the addresses already.
  const info = summarize(frame).replace(/^\S+ -> \S+ /, '');
  return { source, destination, protocol, info: v.transport === 'tcp' || v.transport === 'udp' ? `${get16(f, v.l4Off)} → ${get16(f, v.l4Off + 2)} ${info}` : info };
}

function binarySearch(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = sorted[mid]!;
    if (m === x) return mid;
    if (m < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

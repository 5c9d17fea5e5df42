import { get16, get32 } from './bytes';

export const DNS_HEADER_LENGTH = 12;
export const DNS_MAX_NAME = 255;
export const DNS_MAX_LABEL = 63;
/** Compression pointers followed per name, at most; each must also point backwards. */
const MAX_POINTER_JUMPS = 32;

/** A view over a DNS message header (RFC 1035 4.1.1). */
export class DnsView {
  private constructor(readonly bytes: Uint8Array) {}

  static of(bytes: Uint8Array): DnsView | null {
    return bytes.length >= DNS_HEADER_LENGTH ? new DnsView(bytes) : null;
  }

  get id(): number {
    return get16(this.bytes, 0);
  }
  get flags(): number {
    return get16(this.bytes, 2);
  }
  get isResponse(): boolean {
    return (this.bytes[2]! & 0x80) !== 0;
  }
  get opcode(): number {
    return (this.bytes[2]! >> 3) & 15;
  }
  get questionCount(): number {
    return get16(this.bytes, 4);
  }
  get answerCount(): number {
    return get16(this.bytes, 6);
  }
  get authorityCount(): number {
    return get16(this.bytes, 8);
  }
  get additionalCount(): number {
    return get16(this.bytes, 10);
  }
}

export interface DnsName {
  readonly name: string;
  /** Offset just after the name where it appeared (after the first pointer, if any). */
  readonly next: number;
}

/**
 * Reads a possibly compressed domain name at `offset`. Pointers must point strictly
 * before the run of labels that holds them and are followed a bounded number of times,
 * so a crafted message cannot loop; the decoded name may not exceed 255 bytes.
 * Returns the drop reason on malformed input.
 */
export function readDnsName(msg: Uint8Array, offset: number): DnsName | string {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let encodedLength = 1;
  let jumps = 0;
  // Each pointer must land before the start of the run of labels it ends: the
  // targets strictly decrease, so no sequence of pointers can revisit a byte.
  let segmentStart = offset;
  for (;;) {
    if (pos >= msg.length) return 'dns-truncated';
    const len = msg[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= msg.length) return 'dns-truncated';
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (target >= segmentStart || ++jumps > MAX_POINTER_JUMPS) return 'dns-label-loop';
      if (next < 0) next = pos + 2;
      pos = target;
      segmentStart = target;
      continue;
    }
    if (kind !== 0) return 'dns-bad-label';
    if (pos + 1 + len > msg.length) return 'dns-truncated';
    encodedLength += len + 1;
    if (encodedLength > DNS_MAX_NAME) return 'dns-name-too-long';
    let label = '';
    for (let i = pos + 1; i <= pos + len; i++) label += String.fromCharCode(msg[i]!);
    labels.push(label);
    pos += len + 1;
  }
  return { name: labels.join('.'), next };
}

/** Encodes a dotted name as uncompressed labels; throws on an invalid name (config-time use only). */
export function encodeDnsName(name: string): Uint8Array {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = trimmed === '' ? [] : trimmed.split('.');
  const bytes: number[] = [];
  for (const label of labels) {
    const enc = new TextEncoder().encode(label);
    if (enc.length === 0 || enc.length > DNS_MAX_LABEL) throw new RangeError(`bad label '${label}' in domain name '${name}'`);
    bytes.push(enc.length, ...enc);
  }
  bytes.push(0);
  if (bytes.length > DNS_MAX_NAME) throw new RangeError(`domain name '${name}' is longer than 255 bytes`);
  return Uint8Array.from(bytes);
}

/** DHCP option 119 value (RFC 3397) for a search list, without compression. */
export function encodeDomainSearch(names: readonly string[]): Uint8Array {
  const parts = names.map(encodeDnsName);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Questions and answers read per message, at most: a crafted count cannot make a dissection long. */
const MAX_RECORDS = 32;

export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
}
export interface DnsAnswer {
  readonly name: string;
  readonly type: number;
  readonly rdOff: number;
  readonly rdLen: number;
}

/** readDnsName over the message at b[msg..end) with frame offsets; the root reads as `<Root>` (Wireshark's spelling). */
function readNameAt(b: Uint8Array, msg: number, off: number, end: number): DnsName | undefined {
  const read = readDnsName(b.subarray(msg, end), off - msg);
  if (typeof read === 'string') return undefined;
  return { name: read.name || '<Root>', next: read.next + msg };
}

/** The question section of the message at b[msg..end), walked in place; next is -1 when it is cut short. */
export function dnsQuestions(b: Uint8Array, msg: number, end: number): { questions: DnsQuestion[]; next: number } {
  const questions: DnsQuestion[] = [];
  const count = Math.min(get16(b, msg + 4), MAX_RECORDS);
  let p = msg + DNS_HEADER_LENGTH;
  for (let i = 0; i < count; i++) {
    const n = readNameAt(b, msg, p, end);
    if (!n || n.next + 4 > end) return { questions, next: -1 };
    questions.push({ name: n.name, type: get16(b, n.next) });
    p = n.next + 4;
  }
  return { questions, next: p };
}

/** The answer records after the questions, with the offset and length of their data in b. */
export function dnsAnswers(b: Uint8Array, msg: number, end: number): DnsAnswer[] {
  const answers: DnsAnswer[] = [];
  let { next: p } = dnsQuestions(b, msg, end);
  if (p < 0) return answers;
  const count = Math.min(get16(b, msg + 6), MAX_RECORDS);
  for (let i = 0; i < count; i++) {
    const n = readNameAt(b, msg, p, end);
    if (!n || n.next + 10 > end) break;
    const rdLen = get16(b, n.next + 8);
    const rdOff = n.next + 10;
    if (rdOff + rdLen > end) break;
    answers.push({ name: n.name, type: get16(b, n.next), rdOff, rdLen });
    p = rdOff + rdLen;
  }
  return answers;
}

/** IPv4 addresses of the A records among the answers. */
export function dnsARecords(b: Uint8Array, msg: number, end: number): number[] {
  const out: number[] = [];
  for (const a of dnsAnswers(b, msg, end)) if (a.type === 1 && a.rdLen === 4) out.push(get32(b, a.rdOff));
  return out;
}

export const DNS_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 65: 'HTTPS', 255: 'ANY',
};

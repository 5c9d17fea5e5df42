import { u16, u32 } from './bytes';

/**
 * DNS message walking over the frame in place. Names are the only thing that
 * allocates (a string), and only when a filter or the debugger asks for them.
 */
const MAX_ITEMS = 32;
const MAX_POINTER_JUMPS = 16;

export interface NameRead {
  readonly name: string;
  /** Offset just past the name in the record it started in. */
  readonly next: number;
}

/** Reads a possibly compressed name at `off`; undefined when it runs off `end` or loops. */
export function readName(b: Uint8Array, msg: number, off: number, end: number): NameRead | undefined {
  const labels: string[] = [];
  let p = off;
  let next = -1;
  let jumps = 0;
  let total = 0;
  for (;;) {
    if (p >= end) return undefined;
    const len = b[p]!;
    if (len === 0) { p++; break; }
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++jumps > MAX_POINTER_JUMPS) return undefined;
      if (next < 0) next = p + 2;
      p = msg + (((len & 0x3f) << 8) | b[p + 1]!);
      continue;
    }
    if ((len & 0xc0) !== 0 || p + 1 + len > end) return undefined;
    total += len + 1;
    if (total > 255) return undefined;
    let label = '';
    for (let i = 1; i <= len; i++) label += String.fromCharCode(b[p + i]!);
    labels.push(label);
    p += 1 + len;
  }
  return { name: labels.length ? labels.join('.') : '<Root>', next: next >= 0 ? next : p };
}

export interface DnsQuestion { readonly name: string; readonly type: number }
export interface DnsAnswer { readonly name: string; readonly type: number; readonly rdOff: number; readonly rdLen: number }

export function dnsQuestions(b: Uint8Array, msg: number, end: number): { questions: DnsQuestion[]; next: number } {
  const questions: DnsQuestion[] = [];
  const count = Math.min(u16(b, msg + 4), MAX_ITEMS);
  let p = msg + 12;
  for (let i = 0; i < count; i++) {
    const n = readName(b, msg, p, end);
    if (!n || n.next + 4 > end) return { questions, next: -1 };
    questions.push({ name: n.name, type: u16(b, n.next) });
    p = n.next + 4;
  }
  return { questions, next: p };
}

export function dnsAnswers(b: Uint8Array, msg: number, end: number): DnsAnswer[] {
  const answers: DnsAnswer[] = [];
  let { next: p } = dnsQuestions(b, msg, end);
  if (p < 0) return answers;
  const count = Math.min(u16(b, msg + 6), MAX_ITEMS);
  for (let i = 0; i < count; i++) {
    const n = readName(b, msg, p, end);
    if (!n || n.next + 10 > end) break;
    const rdLen = u16(b, n.next + 8);
    const rdOff = n.next + 10;
    if (rdOff + rdLen > end) break;
    answers.push({ name: n.name, type: u16(b, n.next), rdOff, rdLen });
    p = rdOff + rdLen;
  }
  return answers;
}

/** IPv4 addresses of the A records among the answers. */
export function dnsARecords(b: Uint8Array, msg: number, end: number): number[] {
  const out: number[] = [];
  for (const a of dnsAnswers(b, msg, end)) if (a.type === 1 && a.rdLen === 4) out.push(u32(b, a.rdOff));
  return out;
}

export const DNS_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 65: 'HTTPS', 255: 'ANY',
};

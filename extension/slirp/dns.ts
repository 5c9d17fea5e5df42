import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { DnsView, DNS_HEADER_LENGTH, readDnsName } from '../wire/dns';

/** Questions per query, at most: real resolvers send one. */
const MAX_QUESTIONS = 4;

/**
 * Checks a query to 10.0.2.3 before it is forwarded: a header, a query (not a
 * response), at least one question, and every question name well formed (no
 * pointer loops, labels and name within limits). Returns the drop reason or null.
 */
export function validateDnsQuery(msg: Uint8Array): string | null {
  const dns = DnsView.of(msg);
  if (!dns) return 'dns-truncated';
  if (dns.isResponse) return 'dns-not-query';
  const qd = dns.questionCount;
  if (qd === 0) return 'dns-no-question';
  if (qd > MAX_QUESTIONS) return 'dns-too-many-questions';
  let offset = DNS_HEADER_LENGTH;
  for (let i = 0; i < qd; i++) {
    const name = readDnsName(msg, offset);
    if (typeof name === 'string') return name;
    offset = name.next + 4;
    if (offset > msg.length) return 'dns-truncated';
  }
  return null;
}

/** RFC 1035 RCODE 2: the server could not answer (here: the upstream resolver is dead or missing). */
const RCODE_SERVER_FAILURE = 2;

/**
 * The SERVFAIL answer to a query that validateDnsQuery accepted: its header and
 * questions, flagged as a response with no records. A guest's resolver takes it
 * at once and moves on (next server or an error), whether or not its socket
 * would have heard an ICMP port unreachable.
 */
export function servfailFor(query: Uint8Array): Uint8Array {
  const dns = DnsView.of(query);
  let end = DNS_HEADER_LENGTH;
  for (let i = 0; dns && i < dns.questionCount; i++) {
    const name = readDnsName(query, end);
    if (typeof name === 'string' || name.next + 4 > query.length) break;
    end = name.next + 4;
  }
  // A copy whatever the query is: Buffer's slice() is a view (the answer would overwrite the
  // query) and its fill() throws where a Uint8Array's clamps (on a query shorter than a header).
  const answer = new Uint8Array(query.subarray(0, Math.min(end, query.length)));
  answer[2] = 0x80 | (query[2]! & 0x79); // QR, keeping the opcode and RD
  answer[3] = 0x80 | RCODE_SERVER_FAILURE; // RA
  answer.fill(0, 6, 12); // no answer, authority or additional records
  return answer;
}

export interface DnsServerAddress {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** "addr[:port]" or "[v6addr]:port"; null when malformed. */
export function parseDnsUpstream(text: string): DnsServerAddress | null {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(text);
  const m = bracket ?? plain;
  let address: string;
  let portText: string | undefined;
  if (m) {
    address = m[1]!;
    portText = m[2];
  } else if (isIPv6(text)) {
    address = text;
  } else {
    return null;
  }
  const port = portText === undefined ? 53 : Number(portText);
  if (!(port >= 1 && port <= 65535)) return null;
  if (isIPv4(address)) return { address, port, family: 4 };
  if (isIPv6(address)) return { address, port, family: 6 };
  return null;
}

/** The first `nameserver` line of a resolv.conf text. */
export function firstNameserver(text: string): DnsServerAddress | null {
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    // A scoped IPv6 address (fe80::1%eth0) keeps its zone for the socket.
    const addr = m[1]!;
    const base = addr.split('%')[0]!;
    if (isIPv4(base)) return { address: addr, port: 53, family: 4 };
    if (isIPv6(base)) return { address: addr, port: 53, family: 6 };
  }
  return null;
}

/**
 * One stat poll per file however many stacks watch it: fs.watchFile shares a
 * StatWatcher per path and warns (MaxListenersExceeded) past ten listeners,
 * which `usernet serve` reaches with its eleventh guest.
 */
const resolvWatchers = new Map<string, { subscribers: Set<() => void>; dispatch: () => void }>();

function watchResolvConf(path: string, pollMs: number, onChange: () => void): () => void {
  let watcher = resolvWatchers.get(path);
  if (!watcher) {
    const subscribers = new Set<() => void>();
    const dispatch = () => subscribers.forEach((fn) => fn());
    watchFile(path, { interval: pollMs, persistent: false }, dispatch);
    resolvWatchers.set(path, (watcher = { subscribers, dispatch }));
  }
  const w = watcher;
  w.subscribers.add(onChange);
  return () => {
    w.subscribers.delete(onChange);
    if (w.subscribers.size || resolvWatchers.get(path) !== w) return;
    resolvWatchers.delete(path);
    unwatchFile(path, w.dispatch);
  };
}

/**
 * Where queries to 10.0.2.3 go: `dnsUpstream` when configured, else the first
 * nameserver of /etc/resolv.conf, re-read when the file changes. The file is
 * polled by stat (not inotify) because resolvers replace it by rename.
 */
export class DnsUpstream {
  private fromFile: DnsServerAddress | null = null;
  private readonly fixed: DnsServerAddress | null;
  private unwatch: (() => void) | undefined;

  constructor(
    configured: string | undefined,
    private readonly resolvConfPath = '/etc/resolv.conf',
    private readonly log: (msg: string) => void = () => {},
    pollMs = 2000,
  ) {
    this.fixed = configured ? parseDnsUpstream(configured) : null;
    if (configured && !this.fixed) log(`dns-upstream '${configured}' is not addr[:port]; DNS queries will be dropped`);
    if (!configured) {
      this.reload();
      this.unwatch = watchResolvConf(this.resolvConfPath, pollMs, () => this.reload());
    }
  }

  current(): DnsServerAddress | null {
    return this.fixed ?? this.fromFile;
  }

  reload(): void {
    let text = '';
    try {
      text = readFileSync(this.resolvConfPath, 'utf8');
    } catch {
      text = '';
    }
    const next = firstNameserver(text);
    const before = this.fromFile;
    this.fromFile = next;
    if (next?.address !== before?.address) {
      this.log(next ? `DNS upstream is ${next.address} (from ${this.resolvConfPath})` : `no nameserver in ${this.resolvConfPath}: DNS queries will be dropped`);
    }
  }

  close(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }
}

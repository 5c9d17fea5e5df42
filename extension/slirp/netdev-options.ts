import { formatIpv4 } from '../wire/address';
import { formatIpv6, parseIpv6 } from '../wire/ipv6-address';
import { isIPv4, isIPv6 } from 'node:net';
import { DEFAULT_SLIRP_CONFIG, MAX_GUEST_MTU, MIN_GUEST_MTU, type GuestForward, type HostForward, type SlirpConfig } from './config';

/**
 * QEMU's `-netdev user,...` syntax (QEMU 7.2's suboptions, plus dns-upstream and
 * disable-host-loopback of our own) turned into a SlirpConfig. Every error names
 * the option, says what is wrong and carries the character range of the spec it
 * is about, so an editor can underline it.
 */
export class NetdevOptionError extends Error {
  constructor(
    message: string,
    /** The suboption at fault ('' when the spec as a whole is wrong). */
    readonly option: string,
    /** Range [start, end) in the spec string. */
    readonly start: number,
    readonly end: number,
  ) {
    super(message);
    this.name = 'NetdevOptionError';
  }
}

/** One `key=value` of the spec; ranges index the raw spec (before `,,` is unescaped). */
interface Token {
  readonly key: string;
  readonly value: string | undefined;
  readonly start: number;
  readonly end: number;
  readonly valueStart: number;
}

/** Splits on single commas; QEMU writes a literal comma inside a value as `,,`. */
function tokenize(spec: string): Token[] {
  const tokens: Token[] = [];
  let start = 0;
  let text = '';
  let eq = -1;
  let valueStart = -1;
  const flush = (end: number) => {
    if (end > start || text !== '') {
      const key = eq < 0 ? text : text.slice(0, eq);
      const value = eq < 0 ? undefined : text.slice(eq + 1);
      tokens.push({ key, value, start, end, valueStart: eq < 0 ? end : valueStart });
    }
  };
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c === ',') {
      if (spec[i + 1] === ',') {
        text += ',';
        i++;
        continue;
      }
      flush(i);
      start = i + 1;
      text = '';
      eq = -1;
      continue;
    }
    if (c === '=' && eq < 0) {
      eq = text.length;
      valueStart = i + 1;
    }
    text += c;
  }
  flush(spec.length);
  return tokens;
}

const fail = (message: string, t: Token | undefined, whole = false): never => {
  if (!t) throw new NetdevOptionError(message, '', 0, 0);
  throw new NetdevOptionError(message, t.key, whole || t.value === undefined ? t.start : t.valueStart, t.end);
};

export function parseIp4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

function prefixOfMask(mask: number): number | null {
  for (let p = 0; p <= 32; p++) if (maskOf(p) === mask) return p;
  return null;
}

/** QEMU's classful default when `net=` has no prefix. */
function classfulPrefix(addr: number): number | null {
  if ((addr & 0x80000000) === 0) return 8;
  if ((addr & 0xfff00000) >>> 0 === 0xac100000) return 12;
  if ((addr & 0xc0000000) >>> 0 === 0x80000000) return 16;
  if ((addr & 0xffff0000) >>> 0 === 0xc0a80000) return 16;
  if ((addr & 0xe0000000) >>> 0 === 0xc0000000) return 24;
  return null;
}

function parseBool(t: Token): boolean {
  if (t.value === undefined) return true;
  const v = t.value.toLowerCase();
  if (v === 'on' || v === 'yes' || v === 'true' || v === 'y') return true;
  if (v === 'off' || v === 'no' || v === 'false' || v === 'n') return false;
  return fail(`${t.key}=${t.value}: expected on or off`, t);
}

function parsePort(text: string, allowZero: boolean): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  if (n > 65535 || (n === 0 && !allowZero)) return null;
  return n;
}


function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a[bit >> 3]! & m) !== (b[bit >> 3]! & m)) return false;
  }
  return true;
}

function isDomainName(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n.length === 0 || n.length > 253) return false;
  return n.split('.').every((l) => l.length > 0 && l.length <= 63 && /^[A-Za-z0-9_-]+$/.test(l));
}

const HOSTFWD_SYNTAX = 'expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport';

function parseHostForward(t: Token): HostForward {
  const spec = t.value ?? '';
  const what = `hostfwd=${spec}`;
  // [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport; an IPv6 address in brackets ([::1]).
  const m = /^(?:([^:[\]]*):)?(\[[^\]]*\]|[^:[\]]*):([^:-]*)-(\[[^\]]*\]|[^:[\]]*):([^:]*)$/.exec(spec);
  if (!m) return fail(`bad ${what}: ${HOSTFWD_SYNTAX}`, t);
  const [, p, hostAddrText, hostPortText, guestAddrText, guestPortText] = m as unknown as [string, string | undefined, string, string, string, string];
  let protocol: 'tcp' | 'udp' = 'tcp';
  if (p === 'udp' || p === 'tcp') protocol = p;
  else if (p !== undefined && p !== '') return fail(`bad protocol '${p}' in ${what}: expected tcp or udp`, t);
  // An empty host address binds loopback only: exposing the guest to the LAN must be asked for (0.0.0.0).
  const bracketed = (a: string) => a.startsWith('[');
  const hostAddr = hostAddrText === '' ? '127.0.0.1' : bracketed(hostAddrText) ? hostAddrText.slice(1, -1) : hostAddrText;
  if (bracketed(hostAddrText) ? parseIpv6(hostAddr) === null : !isIPv4(hostAddr)) return fail(`bad host address '${hostAddrText}' in ${what}`, t);
  const hostPort = parsePort(hostPortText, true);
  if (hostPort === null) return fail(`bad host port '${hostPortText}' in ${what}: expected 0-65535`, t);
  const guestPort = parsePort(guestPortText, false);
  if (guestPort === null) return fail(`bad guest port '${guestPortText}' in ${what}: expected 1-65535`, t);
  if (bracketed(guestAddrText)) {
    const g6 = parseIpv6(guestAddrText.slice(1, -1));
    if (g6 === null) return fail(`bad guest address '${guestAddrText}' in ${what}`, t);
    if (protocol === 'udp') return fail(`udp hostfwd to an IPv6 guest address is not supported in ${what}: forward to the guest's IPv4 address`, t);
    return { protocol, hostAddr, hostPort, guestAddr: 0, guestAddr6: formatIpv6(g6), guestPort };
  }
  let guestAddr = 0;
  if (guestAddrText !== '') {
    const g = parseIp4(guestAddrText);
    if (g === null) return fail(`bad guest address '${guestAddrText}' in ${what}`, t);
    guestAddr = g;
  }
  return { protocol, hostAddr, hostPort, guestAddr, guestPort };
}

/** Parses one hostfwd rule as `hostfwd_add` / the netdev option take it. */
export function parseHostForwardRule(spec: string): HostForward {
  return parseHostForward({ key: 'hostfwd', value: spec, start: 0, end: spec.length, valueStart: 0 });
}

const GUESTFWD_SYNTAX = 'expected [tcp]:server:port-tcp:host:port or [tcp]:server:port-cmd:command';

/** serverAddr 0 means "not given": it becomes x.x.2.4 of the net once the net is known, as libslirp does. */
function parseGuestForward(t: Token): GuestForward {
  const spec = t.value ?? '';
  const what = `guestfwd=${spec}`;
  const dash = spec.indexOf('-');
  if (dash < 0) return fail(`bad ${what}: ${GUESTFWD_SYNTAX}`, t);
  const server = spec.slice(0, dash).split(':');
  const target = spec.slice(dash + 1);
  if (server.length === 3) {
    const p = server.shift()!;
    if (p !== 'tcp' && p !== '') return fail(`bad protocol '${p}' in ${what}: only tcp is supported`, t);
  }
  if (server.length !== 2) return fail(`bad ${what}: ${GUESTFWD_SYNTAX}`, t);
  let serverAddr = 0;
  if (server[0] !== '') {
    const a = parseIp4(server[0]!);
    if (a === null) return fail(`bad server address '${server[0]}' in ${what}`, t);
    serverAddr = a;
  }
  const serverPort = parsePort(server[1]!, false);
  if (serverPort === null) return fail(`bad server port '${server[1]}' in ${what}: expected 1-65535`, t);
  if (target.startsWith('cmd:')) {
    const command = target.slice(4);
    if (command.trim() === '') return fail(`empty command in ${what}`, t);
    return { protocol: 'tcp', serverAddr, serverPort, target: { kind: 'cmd', command } };
  }
  const m = /^tcp:(.+):(\d+)$/.exec(target);
  if (!m) return fail(`bad target '${target}' in ${what}: ${GUESTFWD_SYNTAX}`, t);
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  const port = parsePort(m[2]!, false);
  if (port === null) return fail(`bad target port '${m[2]}' in ${what}: expected 1-65535`, t);
  return { protocol: 'tcp', serverAddr, serverPort, target: { kind: 'tcp', host, port } };
}

const KNOWN = new Set([
  'id', 'ipv4', 'ipv6', 'net', 'ip', 'host', 'dhcpstart', 'dns', 'restrict', 'hostname', 'domainname', 'dnssearch',
  'ipv6-net', 'ipv6-prefix', 'ipv6-prefixlen', 'ipv6-host', 'ipv6-dns', 'tftp', 'tftp-server-name', 'bootfile',
  'smb', 'smbserver', 'hostfwd', 'guestfwd', 'dns-upstream', 'disable-host-loopback', 'mtu',
]);
const REPEATABLE = new Set(['dnssearch', 'hostfwd', 'guestfwd']);
const BOOLEAN = new Set(['ipv4', 'ipv6', 'restrict', 'disable-host-loopback']);

export function parseNetdevUser(spec: string): SlirpConfig {
  let tokens = tokenize(spec);
  if (tokens[0] && tokens[0].key === 'user' && tokens[0].value === undefined) tokens = tokens.slice(1);
  const single = new Map<string, Token>();
  const many = new Map<string, Token[]>();
  for (const t of tokens) {
    if (t.key === '') fail(`missing option name before '='`, t, true);
    if (!KNOWN.has(t.key)) fail(`unknown option '${t.key}'`, t, true);
    if (t.value === undefined && !BOOLEAN.has(t.key)) fail(`option '${t.key}' needs a value (${t.key}=...)`, t, true);
    if (REPEATABLE.has(t.key)) {
      many.set(t.key, [...(many.get(t.key) ?? []), t]);
    } else {
      const key = t.key === 'ip' ? 'net' : t.key;
      if (single.has(key)) fail(`option '${t.key}' is given twice`, t, true);
      single.set(key, t);
    }
  }
  const str = (k: string) => single.get(k)?.value;
  const D = DEFAULT_SLIRP_CONFIG;

  // ipv4/ipv6: both on unless one is named; naming one decides the other.
  const v4t = single.get('ipv4');
  const v6t = single.get('ipv6');
  let ipv4 = true;
  let ipv6 = true;
  if (v4t && v6t) {
    ipv4 = parseBool(v4t);
    ipv6 = parseBool(v6t);
  } else if (v4t) {
    ipv4 = parseBool(v4t);
    ipv6 = !ipv4;
  } else if (v6t) {
    ipv6 = parseBool(v6t);
    ipv4 = !ipv6;
  }
  if (!ipv4 && !ipv6) fail('ipv4 and ipv6 cannot both be off', v6t ?? v4t, true);

  let net = D.net;
  let prefixLength = D.prefixLength;
  const netT = single.get('net');
  if (netT) {
    const text = netT.value!;
    const [addrText, maskText] = text.split('/', 2) as [string, string | undefined];
    const addr = parseIp4(addrText);
    if (addr === null) fail(`bad IPv4 address '${addrText}' in ${netT.key}=${text}`, netT);
    if (maskText === undefined) {
      const p = classfulPrefix(addr!);
      if (p === null) fail(`${netT.key}=${text} needs a prefix length: no classful default for this address`, netT);
      prefixLength = p!;
    } else if (/^\d{1,2}$/.test(maskText)) {
      prefixLength = Number(maskText);
      if (prefixLength > 32) fail(`bad prefix length ${maskText} in ${netT.key}=${text}`, netT);
    } else {
      const m = parseIp4(maskText);
      const p = m === null ? null : prefixOfMask(m);
      if (p === null) fail(`bad netmask ${maskText} in ${netT.key}=${text}`, netT);
      prefixLength = p!;
    }
    // A guest network needs room for the host, the DNS, the DHCP pool and a broadcast address.
    if (prefixLength > 28) fail(`bad prefix length ${prefixLength} in ${netT.key}=${text}: at most 28 leaves room for host, dns and DHCP`, netT);
    const mask = maskOf(prefixLength);
    if (((addr! & mask) >>> 0) !== addr) fail(`${netT.key}=${text} has host bits set; did you mean ${formatIpv4((addr! & mask) >>> 0)}/${prefixLength}?`, netT);
    net = addr!;
  }
  const mask = maskOf(prefixLength);
  const broadcast = (net | ~mask) >>> 0;
  const netText = `${formatIpv4(net)}/${prefixLength}`;
  const inNet = (a: number) => ((a & mask) >>> 0) === net;
  const address = (key: string, dflt: number): number => {
    const t = single.get(key);
    if (!t) return netT ? (net | (dflt & ~mask)) >>> 0 : dflt;
    const a = parseIp4(t.value!);
    if (a === null) return fail(`bad IPv4 address '${t.value}' in ${key}`, t);
    if (!inNet(a)) return fail(`${key} ${t.value} is outside net ${netText}`, t);
    if (a === net || a === broadcast) return fail(`${key} ${t.value} is the network or broadcast address of net ${netText}`, t);
    return a;
  };
  const host = address('host', D.host);
  const dns = address('dns', D.dns);
  const dhcpStart = address('dhcpstart', D.dhcpStart);
  if (host === dns) fail(`host and dns are both ${formatIpv4(host)}: they must differ`, single.get('dns') ?? single.get('host'), true);
  if (dhcpStart === host || dhcpStart === dns) fail(`dhcpstart ${formatIpv4(dhcpStart)} is the address of the ${dhcpStart === host ? 'host' : 'dns'}`, single.get('dhcpstart'), true);

  const hostname = str('hostname');
  if (hostname !== undefined && (hostname.length === 0 || hostname.length > 255)) fail(`hostname must be 1-255 characters`, single.get('hostname'));
  const domainName = str('domainname');
  if (domainName !== undefined && !isDomainName(domainName)) fail(`bad domain name '${domainName}' in domainname`, single.get('domainname'));
  const dnsSearch: string[] = [];
  for (const t of many.get('dnssearch') ?? []) {
    if (!isDomainName(t.value!)) fail(`bad domain name '${t.value}' in dnssearch`, t);
    dnsSearch.push(t.value!);
  }

  // IPv6: ipv6-net=prefix/len, or the older ipv6-prefix + ipv6-prefixlen.
  let ipv6Net = D.ipv6Net;
  let ipv6PrefixLength = D.ipv6PrefixLength;
  const v6netT = single.get('ipv6-net') ?? single.get('ipv6-prefix');
  if (single.has('ipv6-net') && single.has('ipv6-prefix')) fail(`ipv6-net and ipv6-prefix cannot both be given`, single.get('ipv6-prefix'), true);
  if (v6netT) {
    const [a, len] = v6netT.value!.split('/', 2) as [string, string | undefined];
    if (!parseIpv6(a)) fail(`bad IPv6 address '${a}' in ${v6netT.key}`, v6netT);
    ipv6Net = a;
    if (len !== undefined) {
      if (v6netT.key === 'ipv6-prefix') fail(`ipv6-prefix takes no /length: use ipv6-prefixlen or ipv6-net`, v6netT);
      if (!/^\d{1,3}$/.test(len) || Number(len) > 126) fail(`bad IPv6 prefix length ${len} in ipv6-net=${v6netT.value}: expected 0-126`, v6netT);
      ipv6PrefixLength = Number(len);
    }
  }
  const plT = single.get('ipv6-prefixlen');
  if (plT) {
    if (single.has('ipv6-net')) fail(`ipv6-prefixlen cannot be combined with ipv6-net`, plT, true);
    if (!/^\d{1,3}$/.test(plT.value!) || Number(plT.value) > 126) fail(`bad IPv6 prefix length ${plT.value} in ipv6-prefixlen: expected 0-126`, plT);
    ipv6PrefixLength = Number(plT.value);
  }
  const netBytes = parseIpv6(ipv6Net)!;
  for (let bit = ipv6PrefixLength; bit < 128; bit++) netBytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  ipv6Net = formatIpv6(netBytes);
  const v6addr = (key: string, low: number): string => {
    const t = single.get(key);
    if (!t) {
      const b = netBytes.slice();
      b[15] = low;
      return formatIpv6(b);
    }
    const a = parseIpv6(t.value!);
    if (!a) return fail(`bad IPv6 address '${t.value}' in ${key}`, t);
    if (!samePrefix(a, netBytes, ipv6PrefixLength)) return fail(`${key} ${t.value} is outside ipv6-net ${ipv6Net}/${ipv6PrefixLength}`, t);
    return formatIpv6(a);
  };
  const ipv6Host = v6addr('ipv6-host', 2);
  const ipv6Dns = v6addr('ipv6-dns', 3);

  const hostForwards = (many.get('hostfwd') ?? []).map((t) => {
    const rule = parseHostForward(t);
    if (rule.guestAddr !== 0 && !inNet(rule.guestAddr)) fail(`guest address ${formatIpv4(rule.guestAddr)} of hostfwd is outside net ${netText}`, t);
    return rule;
  });
  const guestForwards = (many.get('guestfwd') ?? []).map((t) => {
    const rule = parseGuestForward(t);
    const serverAddr = rule.serverAddr === 0 ? (net | (0x0204 & ~mask)) >>> 0 : rule.serverAddr;
    if (!inNet(serverAddr)) fail(`guestfwd server ${formatIpv4(serverAddr)} is outside net ${netText}`, t);
    if (serverAddr === host || serverAddr === dns) fail(`guestfwd server ${formatIpv4(serverAddr)} is the address of the ${serverAddr === host ? 'host' : 'dns'}`, t);
    return { ...rule, serverAddr };
  });

  const upT = single.get('dns-upstream');
  if (upT) {
    const v = upT.value!;
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(v) ?? /^([^:]+)(?::(\d+))?$/.exec(v);
    const ok = m && (isIPv4(m[1]!) || isIPv6(m[1]!)) && (m[2] === undefined || parsePort(m[2], false) !== null);
    if (!ok) fail(`bad dns-upstream '${v}': expected addr[:port] (IPv6 as [addr]:port)`, upT);
  }

  const mtuT = single.get('mtu');
  let mtu = D.mtu;
  if (mtuT) {
    mtu = /^\d{1,5}$/.test(mtuT.value!) ? Number(mtuT.value) : NaN;
    if (!(mtu >= MIN_GUEST_MTU && mtu <= MAX_GUEST_MTU)) fail(`bad mtu '${mtuT.value}': expected ${MIN_GUEST_MTU}-${MAX_GUEST_MTU} (1500 is Ethernet's, as libslirp)`, mtuT);
  }

  const unsupported: string[] = [];
  if (single.has('smb')) unsupported.push('smb');

  const id = str('id');
  if (id === '') fail(`option 'id' needs a value`, single.get('id'), true);

  return {
    ...D,
    id: id ?? D.id,
    ipv4,
    ipv6,
    net,
    prefixLength,
    host,
    dhcpStart,
    dns,
    restrict: single.has('restrict') ? parseBool(single.get('restrict')!) : false,
    hostname,
    domainName,
    dnsSearch,
    ipv6Net,
    ipv6PrefixLength,
    ipv6Host,
    ipv6Dns,
    tftpRoot: str('tftp'),
    tftpServerName: str('tftp-server-name'),
    bootFile: str('bootfile'),
    hostForwards,
    guestForwards,
    disableHostLoopback: single.has('disable-host-loopback') ? parseBool(single.get('disable-host-loopback')!) : false,
    dnsUpstream: upT?.value,
    mtu,
    ...(mtuT ? { mtuGiven: true } : {}),
    unsupportedOptions: unsupported,
  };
}

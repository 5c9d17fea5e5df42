/**
 * The one parser of QEMU's `-netdev user,...` syntax (QEMU 7.2's suboptions, plus
 * dns-upstream, disable-host-loopback and mtu of our own). It reads the whole
 * spec, finds every mistake at once, each with the range of the spec it is
 * about, and builds the SlirpConfig the stack runs with: the profile's language
 * server shows the issues as diagnostics, and `usernet run`/`serve`, the launch
 * configuration and the profile launch refuse the spec on its first error.
 */
import { closestName } from '../pipeline/filter/suggest';
import { formatIpv4, parseIpv4 } from '../wire/address';
import { formatIpv6, parseIpv6 } from '../wire/ipv6-address';
import { DEFAULT_SLIRP_CONFIG, MAX_GUEST_MTU, MIN_GUEST_MTU, type SlirpConfig } from './config';
import { readGuestForward, readHostForward, parsePort, type GuestForwardSpan, type HostForwardSpan } from './forward-rules';
import { throwFirstError, type NetdevIssue, type ReportIssue } from './netdev-issue';
import { NETDEV_USER_SUBOPTION_NAMES } from './netdev-suboptions';
import { parseOptionList, type OptionItem } from './option-list';

export { NetdevOptionError, type NetdevIssue } from './netdev-issue';
export { parseHostForwardRule, type GuestForwardSpan, type HostForwardSpan } from './forward-rules';

export interface NetdevUserReading {
  /** The configuration asked for; a suboption found wrong keeps its default. */
  readonly config: SlirpConfig;
  /** Every mistake, in the order of the spec (the first is the one a launch reports). */
  readonly issues: readonly NetdevIssue[];
  /** The forwarding rules that parsed, with where they are in the spec. */
  readonly hostForwards: readonly HostForwardSpan[];
  readonly guestForwards: readonly GuestForwardSpan[];
}

/** The configuration of a spec, or a NetdevOptionError naming its first mistake. */
export function parseNetdevUser(spec: string): SlirpConfig {
  const reading = readNetdevUser(spec);
  throwFirstError(reading.issues);
  return reading.config;
}

const REPEATABLE = new Set(['dnssearch', 'hostfwd', 'guestfwd']);
const BOOLEAN = new Set(['ipv4', 'ipv6', 'restrict', 'disable-host-loopback']);
const TRUE_WORDS = ['on', 'yes', 'true', 'y'];
const FALSE_WORDS = ['off', 'no', 'false', 'n'];

/** Reads a spec (with or without a leading `user`); never throws. */
export function readNetdevUser(spec: string): NetdevUserReading {
  const issues: NetdevIssue[] = [];
  const issue = (option: string, code: string, message: string, start: number, end: number, severity: NetdevIssue['severity'] = 'error'): void => {
    issues.push({ code, severity, message, option, start, end });
  };
  const atValue = (item: OptionItem, code: string, message: string): void => issue(item.key, code, message, item.valueStart, item.valueEnd);
  const atItem = (item: OptionItem, code: string, message: string): void => issue(item.key, code, message, item.start, item.end);

  const single = new Map<string, OptionItem>();
  const many = new Map<string, OptionItem[]>();
  const items = spec === '' ? [] : parseOptionList(spec);
  items.forEach((item, index) => {
    if (!item.hasValue) {
      if (index === 0 && item.raw === 'user') return;
      if (item.raw === '') {
        // QEMU takes a trailing comma; any other empty item is a slip worth pointing at.
        if (index < items.length - 1) issue('', 'empty-suboption', 'empty suboption: remove the extra comma (write ,, for a comma inside a value)', item.start, Math.min(item.start + 1, spec.length), 'warning');
        return;
      }
      if (BOOLEAN.has(item.raw)) {
        // QEMU reads a bare boolean as key=on.
        single.set(item.raw, { ...item, key: item.raw, value: 'on', keyEnd: item.end, valueStart: item.end });
        return;
      }
      if (NETDEV_USER_SUBOPTION_NAMES.includes(item.raw)) issue(item.raw, 'suboption-without-value', `${item.raw} needs a value: ${item.raw}=...`, item.start, item.end);
      else issue(item.raw, 'unknown-netdev-suboption', unknownMessage(item.raw), item.start, item.end);
      return;
    }
    if (item.key === '') return atItem(item, 'unknown-netdev-suboption', `missing option name before '=' in "${item.raw}"`);
    if (!NETDEV_USER_SUBOPTION_NAMES.includes(item.key)) return issue(item.key, 'unknown-netdev-suboption', unknownMessage(item.key), item.keyStart, item.keyEnd);
    if (REPEATABLE.has(item.key)) {
      many.set(item.key, [...(many.get(item.key) ?? []), item]);
      return;
    }
    const name = item.key === 'ip' ? 'net' : item.key;
    const earlier = single.get(name);
    if (earlier) {
      const message = earlier.key === item.key ? `${item.key} is given twice; QEMU refuses a repeated ${item.key}=` : `${item.key}= and ${earlier.key}= are one option: give it once`;
      return issue(item.key, 'duplicate-suboption', message, item.keyStart, item.keyEnd);
    }
    single.set(name, item);
  });

  const bool = (key: string, absent: boolean): boolean => {
    const item = single.get(key);
    if (!item) return absent;
    const word = item.value.toLowerCase();
    if (TRUE_WORDS.includes(word)) return true;
    if (FALSE_WORDS.includes(word)) return false;
    atValue(item, 'bad-boolean', `${key}=${item.value}: use on or off`);
    return absent;
  };
  const D = DEFAULT_SLIRP_CONFIG;

  // ipv4/ipv6: both on unless one is named; naming one alone decides the other.
  const v4 = single.get('ipv4');
  const v6 = single.get('ipv6');
  const v4On = bool('ipv4', true);
  const v6On = bool('ipv6', true);
  const ipv4 = v4 || !v6 ? v4On : !v6On;
  const ipv6 = v6 || !v4 ? v6On : !v4On;
  if (!ipv4 && !ipv6) atItem((v6 ?? v4)!, 'no-ip-version', 'ipv4=off and ipv6=off leave the guest no network: keep one on');

  const network = readNetwork(single.get('net'), atValue, issue);
  const { net, prefixLength, given: netGiven, valid: netValid } = network;
  const mask = maskOf(prefixLength);
  const broadcast = (net | ~mask) >>> 0;
  const netText = `${formatIpv4(net)}/${prefixLength}`;
  const inNet = (a: number): boolean => ((a & mask) >>> 0) === net;
  // Addresses not given keep their place in the network (x.x.2.2 under net=10.9.0.0/16, as QEMU).
  const moved = (dflt: number): number => (netGiven ? (net | (dflt & ~mask)) >>> 0 : dflt);
  const address = (key: string, dflt: number): number => {
    const item = single.get(key);
    if (!item) return moved(dflt);
    const a = parseIpv4(item.value);
    if (a === null) atValue(item, 'bad-address', `${key}=${item.value} is not an IPv4 address`);
    else if (!netValid) return a;
    else if (!inNet(a)) atValue(item, `${key}-outside-net`, `${key}=${item.value} is outside the guest network ${netText}: choose an address inside it`);
    else if (a === net || a === broadcast) atValue(item, 'network-or-broadcast', `${key}=${item.value} is the network or broadcast address of ${netText}: choose another`);
    else return a;
    return moved(dflt);
  };
  const host = address('host', D.host);
  const dns = address('dns', D.dns);
  const dhcpStart = address('dhcpstart', D.dhcpStart);
  const hostItem = single.get('host');
  const dnsItem = single.get('dns');
  const dhcpItem = single.get('dhcpstart');
  if (host === dns && (dnsItem ?? hostItem)) atItem((dnsItem ?? hostItem)!, 'address-clash', `host and dns are both ${formatIpv4(host)}: they must differ`);
  const dhcpClash = dhcpStart === host ? 'host' : dhcpStart === dns ? 'dns' : undefined;
  const dhcpBlame = dhcpItem ?? (dhcpClash === 'host' ? hostItem : dnsItem);
  if (dhcpClash && dhcpBlame) atItem(dhcpBlame, 'address-clash', `dhcpstart ${formatIpv4(dhcpStart)} is the address of the ${dhcpClash}: the DHCP pool needs its own addresses`);
  const smbServer = single.get('smbserver');
  if (smbServer && parseIpv4(smbServer.value) === null) atValue(smbServer, 'bad-address', `smbserver=${smbServer.value} is not an IPv4 address`);

  const hostnameItem = single.get('hostname');
  const hostname = hostnameItem?.value;
  if (hostnameItem && (hostnameItem.value.length === 0 || hostnameItem.value.length > 255)) atItem(hostnameItem, 'bad-hostname', 'hostname= must be 1 to 255 characters');
  const domainItem = single.get('domainname');
  if (domainItem && !isDomainName(domainItem.value)) atValue(domainItem, 'bad-domain-name', `bad domain name '${domainItem.value}' in domainname`);
  const dnsSearch: string[] = [];
  for (const item of many.get('dnssearch') ?? []) {
    if (isDomainName(item.value)) dnsSearch.push(item.value);
    else atValue(item, 'bad-domain-name', `bad domain name '${item.value}' in dnssearch`);
  }

  const ipv6Net = readIpv6Network(single, atValue, atItem);

  const report = (key: string): ReportIssue => (code, message, start, end) => issue(key, code, message, start, end);
  const hostForwards: HostForwardSpan[] = [];
  for (const item of many.get('hostfwd') ?? []) {
    const span = readHostForward(spec.slice(item.valueStart, item.valueEnd), item.valueStart, report('hostfwd'));
    if (!span) continue;
    const guest = span.rule.guestAddr;
    if (netValid && guest !== 0 && !inNet(guest)) {
      issue('hostfwd', 'hostfwd-outside-net', `hostfwd guest address ${formatIpv4(guest)} is outside the guest network ${netText}`, span.guestAddrStart, span.guestAddrEnd);
    }
    hostForwards.push(span);
  }
  const guestForwards: GuestForwardSpan[] = [];
  for (const item of many.get('guestfwd') ?? []) {
    const span = readGuestForward(spec.slice(item.valueStart, item.valueEnd), item.valueStart, report('guestfwd'));
    if (!span) continue;
    // Without a server address libslirp takes x.x.2.4 of the network.
    const serverAddr = span.rule.serverAddr === 0 ? (net | (0x0204 & ~mask)) >>> 0 : span.rule.serverAddr;
    const [from, to] = span.rule.serverAddr === 0 ? [span.start, span.end] : [span.serverStart, span.serverEnd];
    const server = formatIpv4(serverAddr);
    if (netValid && !inNet(serverAddr)) issue('guestfwd', 'guestfwd-outside-net', `guestfwd server ${server} is outside the guest network ${netText}`, from, to);
    else if (serverAddr === host || serverAddr === dns) issue('guestfwd', 'bad-guestfwd', `guestfwd server ${server} is the ${serverAddr === host ? 'host' : 'dns'} address: choose a free one`, from, to);
    guestForwards.push({ ...span, rule: { ...span.rule, serverAddr } });
  }

  const upstream = single.get('dns-upstream');
  if (upstream && !isDnsUpstream(upstream.value)) atValue(upstream, 'bad-dns-upstream', `bad dns-upstream '${upstream.value}': expected addr[:port] (IPv6 as [addr]:port)`);
  const mtuItem = single.get('mtu');
  let mtu = D.mtu;
  if (mtuItem) {
    const value = /^\d{1,5}$/.test(mtuItem.value) ? Number(mtuItem.value) : NaN;
    if (value >= MIN_GUEST_MTU && value <= MAX_GUEST_MTU) mtu = value;
    else atValue(mtuItem, 'bad-mtu', `bad mtu '${mtuItem.value}': expected ${MIN_GUEST_MTU}-${MAX_GUEST_MTU} (1500 is Ethernet's, as libslirp)`);
  }
  const idItem = single.get('id');
  if (idItem && idItem.value === '') atItem(idItem, 'bad-id', 'id= needs a name');

  const config: SlirpConfig = {
    ...D,
    id: idItem?.value || D.id,
    ipv4,
    ipv6,
    net,
    prefixLength,
    host,
    dhcpStart,
    dns,
    restrict: bool('restrict', false),
    hostname,
    domainName: domainItem?.value,
    dnsSearch,
    ...ipv6Net,
    tftpRoot: single.get('tftp')?.value,
    tftpServerName: single.get('tftp-server-name')?.value,
    bootFile: single.get('bootfile')?.value,
    hostForwards: hostForwards.map((s) => s.rule),
    guestForwards: guestForwards.map((s) => s.rule),
    disableHostLoopback: bool('disable-host-loopback', false),
    dnsUpstream: upstream?.value,
    mtu,
    ...(mtuItem ? { mtuGiven: true } : {}),
    unsupportedOptions: single.has('smb') ? ['smb'] : [],
  };
  issues.sort((a, b) => a.start - b.start);
  return { config, issues, hostForwards, guestForwards };
}

type ValueIssue = (item: OptionItem, code: string, message: string) => void;

interface GuestNetwork {
  readonly net: number;
  readonly prefixLength: number;
  readonly given: boolean;
  /** False when net= is wrong: addresses are then not judged against it. */
  readonly valid: boolean;
}

/** `net=addr[/prefix|/netmask]` (or its old name ip=); without a mask QEMU takes the address class's. */
function readNetwork(item: OptionItem | undefined, atValue: ValueIssue, issue: (option: string, code: string, message: string, start: number, end: number) => void): GuestNetwork {
  const D = DEFAULT_SLIRP_CONFIG;
  if (!item) return { net: D.net, prefixLength: D.prefixLength, given: false, valid: true };
  const invalid = { net: D.net, prefixLength: D.prefixLength, given: true, valid: false };
  const { key, value } = item;
  const slash = value.indexOf('/');
  const addrText = slash < 0 ? value : value.slice(0, slash);
  const maskText = slash < 0 ? undefined : value.slice(slash + 1);
  const addr = parseIpv4(addrText);
  if (addr === null) {
    issue(key, 'bad-address', `bad IPv4 address '${addrText}' in ${key}=${value}`, item.valueStart, item.valueStart + addrText.length);
    return invalid;
  }
  let prefixLength: number | null;
  if (maskText === undefined) {
    prefixLength = classfulPrefix(addr);
    if (prefixLength === null) {
      atValue(item, 'bad-prefix', `${key}=${value} needs a prefix length: no classful default for this address`);
      return invalid;
    }
  } else {
    prefixLength = /^\d{1,2}$/.test(maskText) ? Number(maskText) : prefixOfMask(parseIpv4(maskText));
    // A guest network needs room for the host, the DNS, the DHCP pool and a broadcast address.
    if (prefixLength === null || prefixLength < 1 || prefixLength > 28) {
      issue(key, 'bad-prefix', `${key}=${value}: give a prefix length from 1 to 28 (or a netmask like 255.255.255.0), leaving room for host, dns and DHCP`, item.valueStart + addrText.length + 1, item.valueEnd);
      return invalid;
    }
  }
  const net = (addr & maskOf(prefixLength)) >>> 0;
  if (net !== addr) {
    atValue(item, 'net-host-bits', `${key}=${value} has host bits set; did you mean ${formatIpv4(net)}/${prefixLength}?`);
    return invalid;
  }
  return { net, prefixLength, given: true, valid: true };
}

/** IPv6: `ipv6-net=prefix/len`, or the older ipv6-prefix with ipv6-prefixlen; host ::2 and dns ::3 inside it. */
function readIpv6Network(single: ReadonlyMap<string, OptionItem>, atValue: ValueIssue, atItem: ValueIssue): Pick<SlirpConfig, 'ipv6Net' | 'ipv6PrefixLength' | 'ipv6Host' | 'ipv6Dns'> {
  const D = DEFAULT_SLIRP_CONFIG;
  let ipv6Net = D.ipv6Net;
  let ipv6PrefixLength = D.ipv6PrefixLength;
  const netItem = single.get('ipv6-net');
  const prefixItem = single.get('ipv6-prefix');
  if (netItem && prefixItem) atItem(prefixItem, 'conflicting-suboptions', 'ipv6-net and ipv6-prefix cannot both be given');
  const item = netItem ?? prefixItem;
  if (item) {
    const slash = item.value.indexOf('/');
    const addrText = slash < 0 ? item.value : item.value.slice(0, slash);
    const len = slash < 0 ? undefined : item.value.slice(slash + 1);
    if (!parseIpv6(addrText)) atValue({ ...item, valueEnd: item.valueStart + addrText.length }, 'bad-address', `bad IPv6 address '${addrText}' in ${item.key}`);
    else if (len !== undefined && item.key === 'ipv6-prefix') atValue(item, 'bad-prefix', 'ipv6-prefix takes no /length: use ipv6-prefixlen or ipv6-net');
    else if (len !== undefined && (!/^\d{1,3}$/.test(len) || Number(len) > 126)) {
      atValue({ ...item, valueStart: item.valueEnd - len.length }, 'bad-prefix', `bad IPv6 prefix length ${len} in ipv6-net=${item.value}: expected 0-126`);
    } else {
      ipv6Net = addrText;
      if (len !== undefined) ipv6PrefixLength = Number(len);
    }
  }
  const lenItem = single.get('ipv6-prefixlen');
  if (lenItem && netItem) atItem(lenItem, 'conflicting-suboptions', 'ipv6-prefixlen cannot be combined with ipv6-net');
  else if (lenItem && (!/^\d{1,3}$/.test(lenItem.value) || Number(lenItem.value) > 126)) atValue(lenItem, 'bad-prefix', `bad IPv6 prefix length ${lenItem.value} in ipv6-prefixlen: expected 0-126`);
  else if (lenItem) ipv6PrefixLength = Number(lenItem.value);

  const netBytes = parseIpv6(ipv6Net)!;
  for (let bit = ipv6PrefixLength; bit < 128; bit++) netBytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  ipv6Net = formatIpv6(netBytes);
  const address = (key: string, low: number): string => {
    const given = single.get(key);
    const a = given ? parseIpv6(given.value) : null;
    if (given && !a) atValue(given, 'bad-address', `bad IPv6 address '${given.value}' in ${key}`);
    else if (given && !samePrefix(a!, netBytes, ipv6PrefixLength)) atValue(given, 'ipv6-outside-net', `${key} ${given.value} is outside ipv6-net ${ipv6Net}/${ipv6PrefixLength}`);
    else if (a) return formatIpv6(a);
    const b = netBytes.slice();
    b[15] = low;
    return formatIpv6(b);
  };
  return { ipv6Net, ipv6PrefixLength, ipv6Host: address('ipv6-host', 2), ipv6Dns: address('ipv6-dns', 3) };
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

function prefixOfMask(mask: number | null): number | null {
  if (mask === null) return null;
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

/** `addr[:port]`, an IPv6 address in brackets when a port follows. */
function isDnsUpstream(value: string): boolean {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  if (!m) return false;
  const addressOk = parseIpv4(m[1]!) !== null || parseIpv6(m[1]!) !== null;
  return addressOk && (!m[2] || parsePort(m[2], 1) !== undefined);
}

/** "did you mean" for a misspelt suboption, else the list of known ones. */
function unknownMessage(key: string): string {
  const best = closestName(key, NETDEV_USER_SUBOPTION_NAMES);
  const hint = best ? ` (did you mean ${best}?)` : `: known ones are ${NETDEV_USER_SUBOPTION_NAMES.join(', ')}`;
  return `unknown -netdev user suboption "${key}"${hint}`;
}

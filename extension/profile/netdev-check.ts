/**
 * Checks the suboptions of one `-netdev user` (without its type and id) the way
 * QEMU's net/slirp.c would, so that a mistake shows in the editor instead of as
 * QEMU's exit message. Offsets are within the option string; the caller maps
 * them to the profile's text.
 *
 * The slirp's own parser (extension/slirp/netdev-options.ts) builds the running
 * configuration; this file only judges the text, and never throws.
 */
import { NETDEV_USER_SUBOPTIONS } from './option-catalog';
import { parseOptionList, type OptionItem } from './option-list';
import { formatIpv4 } from '../wire/address';
import { inNetwork, parseIpv4, parsePrefix } from './ipv4';
import type { ProblemSeverity } from './plan';
import { parseIpv6 } from '../wire/ipv6-address';

export interface NetdevIssue {
  readonly code: string;
  readonly severity: ProblemSeverity;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

export interface HostForwardRule {
  readonly protocol: 'tcp' | 'udp';
  readonly hostAddr: string;
  readonly hostPort: number;
  readonly guestAddr: string;
  readonly guestPort: number;
  /** The rule's span and its host port's span, within the option string. */
  readonly start: number;
  readonly end: number;
  readonly hostPortStart: number;
  readonly hostPortEnd: number;
}

export interface GuestForwardRule {
  readonly serverAddr: string;
  readonly serverPort: number;
  readonly start: number;
  readonly end: number;
}

export interface NetdevCheck {
  readonly issues: NetdevIssue[];
  readonly hostForwards: HostForwardRule[];
  readonly guestForwards: GuestForwardRule[];
}

export const NETDEV_USER_SUBOPTION_NAMES: readonly string[] = NETDEV_USER_SUBOPTIONS.map((s) => s.name);
const REPEATABLE = new Set(['hostfwd', 'guestfwd', 'dnssearch']);
const BOOLEAN = new Set(['ipv4', 'ipv6', 'restrict', 'disable-host-loopback']);
const IPV4_VALUED = ['host', 'dhcpstart', 'dns', 'smbserver'];
const INSIDE_NET = ['host', 'dhcpstart', 'dns'];
const BOOLEAN_WORDS = ['on', 'off', 'yes', 'no', 'true', 'false', 'y', 'n'];
const HOSTFWD_FORM = 'hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, e.g. hostfwd=tcp::2222-:22';
const GUESTFWD_FORM = 'guestfwd=[tcp]:server:port-cmd:COMMAND or guestfwd=tcp:10.0.2.100:80-tcp:127.0.0.1:8080';

export function checkNetdevUser(spec: string): NetdevCheck {
  const issues: NetdevIssue[] = [];
  const hostForwards: HostForwardRule[] = [];
  const guestForwards: GuestForwardRule[] = [];
  const issue = (code: string, message: string, start: number, end: number, severity: ProblemSeverity = 'error'): void => {
    issues.push({ code, severity, message, start, end });
  };
  if (spec === '') return { issues, hostForwards, guestForwards };

  const items = parseOptionList(spec);
  const seen = new Map<string, OptionItem>();
  for (const item of items) {
    if (!item.hasValue) {
      // QEMU reads a bare boolean as key=on.
      if (BOOLEAN.has(item.raw)) {
        seen.set(item.raw, { ...item, key: item.raw, value: 'on' });
        continue;
      }
      if (item.raw === '') issue('empty-suboption', 'empty suboption: remove the extra comma (write ,, for a comma inside a value)', item.start, Math.min(item.start + 1, spec.length));
      else issue('suboption-without-value', `"${item.raw}" needs a value: ${item.raw}=...`, item.start, item.end);
      continue;
    }
    if (!NETDEV_USER_SUBOPTION_NAMES.includes(item.key)) {
      issue('unknown-netdev-suboption', `unknown -netdev user suboption "${item.key}"${suggestion(item.key)}`, item.keyStart, item.keyEnd);
      continue;
    }
    const earlier = seen.get(item.key);
    if (earlier && !REPEATABLE.has(item.key)) {
      issue('duplicate-suboption', `${item.key} is given twice; QEMU refuses a repeated ${item.key}=`, item.keyStart, item.keyEnd);
    }
    seen.set(item.key, item);
    if (BOOLEAN.has(item.key) && !BOOLEAN_WORDS.includes(item.value)) {
      issue('bad-boolean', `${item.key}=${item.value}: use on or off`, item.valueStart, item.valueEnd);
    }
  }

  // The guest network (net=) decides where host, dhcpstart and dns may sit.
  let net = parseIpv4('10.0.2.0')!;
  let prefixLength = 24;
  const netItem = seen.get('net') ?? seen.get('ip');
  if (netItem) {
    const [addrText, prefixText] = splitOnce(netItem.value, '/');
    const addr = parseIpv4(addrText);
    // Without a mask QEMU takes the address class's (10.0.2.0 alone is a /8).
    const prefix = prefixText === undefined ? (addr === undefined ? undefined : classfulPrefix(addr)) : parsePrefix(prefixText);
    if (addr === undefined) issue('bad-address', `net=${netItem.value}: "${addrText}" is not an IPv4 address`, netItem.valueStart, netItem.valueStart + addrText.length);
    else if (prefix === undefined || prefix > 28 || prefix < 1) {
      const [from, to] = prefixText === undefined ? [netItem.valueStart, netItem.valueEnd] : [netItem.valueStart + addrText.length + 1, netItem.valueEnd];
      issue('bad-prefix', `net=${netItem.value}: give a prefix length from 1 to 28 (or a netmask like 255.255.255.0), leaving room for host, dns and DHCP`, from, to);
    } else {
      net = addr;
      prefixLength = prefix;
    }
  }
  const netText = `${formatIpv4(net)}/${prefixLength}`;
  const addresses = new Map<string, number>();
  for (const key of IPV4_VALUED) {
    const item = seen.get(key);
    if (!item) continue;
    const addr = parseIpv4(item.value);
    if (addr === undefined) {
      issue('bad-address', `${key}=${item.value} is not an IPv4 address`, item.valueStart, item.valueEnd);
      continue;
    }
    addresses.set(key, addr);
    if (INSIDE_NET.includes(key) && !inNetwork(addr, net, prefixLength)) {
      issue(`${key}-outside-net`, `${key}=${item.value} is outside the guest network ${netText}: choose an address inside it`, item.valueStart, item.valueEnd);
    }
  }

  const ipv4Off = ['off', 'no', 'false', 'n'].includes(seen.get('ipv4')?.value ?? '');
  const ipv6Off = ['off', 'no', 'false', 'n'].includes(seen.get('ipv6')?.value ?? '');
  if (ipv4Off && ipv6Off) {
    const item = seen.get('ipv6')!;
    issue('no-ip-version', 'ipv4=off and ipv6=off leave the guest no network: keep one on', item.start, item.end);
  }
  const prefixLen = seen.get('ipv6-prefixlen');
  if (prefixLen && (!/^\d+$/.test(prefixLen.value) || Number(prefixLen.value) > 126)) {
    issue('bad-prefix', `ipv6-prefixlen=${prefixLen.value}: use a length from 0 to 126`, prefixLen.valueStart, prefixLen.valueEnd);
  }
  const ipv6Net = seen.get('ipv6-net');
  if (ipv6Net) {
    const [, len] = splitOnce(ipv6Net.value, '/');
    if (len !== undefined && (!/^\d+$/.test(len) || Number(len) > 126)) {
      issue('bad-prefix', `ipv6-net=${ipv6Net.value}: the prefix length must be 0 to 126`, ipv6Net.valueEnd - len.length, ipv6Net.valueEnd);
    }
  }

  for (const item of items) {
    if (item.key === 'hostfwd') {
      const rule = checkHostForward(spec.slice(item.valueStart, item.valueEnd), item.valueStart, issue);
      if (rule) hostForwards.push(rule);
    } else if (item.key === 'guestfwd') {
      const rule = checkGuestForward(spec.slice(item.valueStart, item.valueEnd), item.valueStart, issue, net, prefixLength, addresses);
      if (rule) guestForwards.push(rule);
    }
  }
  return { issues, hostForwards, guestForwards };
}

type Report = (code: string, message: string, start: number, end: number) => void;

/** QEMU's slirp_hostfwd: `[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`. */
function checkHostForward(rule: string, base: number, issue: Report): HostForwardRule | undefined {
  const whole = (message: string): undefined => {
    issue('bad-hostfwd', `${message}: write ${HOSTFWD_FORM}`, base, base + Math.max(rule.length, 0));
    return undefined;
  };
  if (rule === '') return whole('empty hostfwd rule');
  const protoEnd = rule.indexOf(':');
  if (protoEnd < 0) return whole(`hostfwd=${rule} is missing its colons`);
  const protocol = rule.slice(0, protoEnd);
  if (protocol !== '' && protocol !== 'tcp' && protocol !== 'udp') {
    issue('bad-hostfwd', `hostfwd protocol "${protocol}" is not tcp or udp`, base, base + protoEnd);
    return undefined;
  }
  let at = protoEnd + 1;
  // An IPv6 address is written in brackets: tcp:[::1]:2222-:22.
  const hostAddrEnd = rule[at] === '[' ? rule.indexOf(']:', at) + 1 || -1 : rule.indexOf(':', at);
  if (hostAddrEnd < 0) return whole(`hostfwd=${rule} is missing the host address field (it may be empty: tcp::2222-:22)`);
  const hostAddr = rule.slice(at, hostAddrEnd);
  if (hostAddr !== '' && !isAddress(hostAddr)) {
    issue('bad-hostfwd', `hostfwd host address "${hostAddr}" is not an IPv4 address or a bracketed IPv6 one (leave it empty for 127.0.0.1, or write 0.0.0.0 for every interface)`, base + at, base + hostAddrEnd);
    return undefined;
  }
  at = hostAddrEnd + 1;
  const dash = rule.indexOf('-', at);
  if (dash < 0) return whole(`hostfwd=${rule} has no "-" between the host and the guest side`);
  const hostPortText = rule.slice(at, dash);
  const hostPort = parsePort(hostPortText, 0);
  if (hostPort === undefined) {
    issue('bad-hostfwd', `hostfwd host port "${hostPortText}" must be a number from 0 to 65535`, base + at, base + (dash > at ? dash : dash + 1));
    return undefined;
  }
  const hostPortStart = base + at;
  const hostPortEnd = base + dash;
  at = dash + 1;
  const guestColon = rule.lastIndexOf(':');
  if (guestColon < at) return whole(`hostfwd=${rule} is missing the guest side ([guestaddr]:guestport)`);
  const guestAddr = rule.slice(at, guestColon);
  if (guestAddr !== '' && !isAddress(guestAddr)) {
    issue('bad-hostfwd', `hostfwd guest address "${guestAddr}" is not an IPv4 address or a bracketed IPv6 one (leave it empty for the DHCP guest)`, base + at, base + guestColon);
    return undefined;
  }
  const guestPortText = rule.slice(guestColon + 1);
  const guestPort = parsePort(guestPortText, 1);
  if (guestPort === undefined) {
    issue('bad-hostfwd', `hostfwd guest port "${guestPortText}" must be a number from 1 to 65535`, base + guestColon + (guestPortText ? 1 : 0), base + rule.length);
    return undefined;
  }
  return {
    protocol: protocol === 'udp' ? 'udp' : 'tcp', hostAddr, hostPort, guestAddr, guestPort,
    start: base, end: base + rule.length, hostPortStart, hostPortEnd,
  };
}

/** An IPv4 address, or an IPv6 one in brackets ([::1]). */
function isAddress(text: string): boolean {
  return text.startsWith('[') && text.endsWith(']') ? parseIpv6(text.slice(1, -1)) !== null : parseIpv4(text) !== undefined;
}

/** QEMU's slirp_guestfwd: `[tcp]:server:port-dev` where dev is `cmd:COMMAND` or a chardev. */
function checkGuestForward(
  rule: string, base: number, issue: Report, net: number, prefixLength: number, addresses: ReadonlyMap<string, number>,
): GuestForwardRule | undefined {
  const whole = (message: string): undefined => {
    issue('bad-guestfwd', `${message}: write ${GUESTFWD_FORM}`, base, base + rule.length);
    return undefined;
  };
  const protoEnd = rule.indexOf(':');
  if (protoEnd < 0) return whole(`guestfwd=${rule} is missing its colons`);
  const protocol = rule.slice(0, protoEnd);
  if (protocol !== '' && protocol !== 'tcp') {
    issue('bad-guestfwd', `guestfwd forwards tcp only, not "${protocol}"`, base, base + protoEnd);
    return undefined;
  }
  let at = protoEnd + 1;
  const serverEnd = rule.indexOf(':', at);
  if (serverEnd < 0) return whole(`guestfwd=${rule} is missing the server:port part`);
  const serverAddr = rule.slice(at, serverEnd);
  const server = serverAddr === '' ? undefined : parseIpv4(serverAddr);
  if (serverAddr !== '' && server === undefined) {
    issue('bad-guestfwd', `guestfwd server "${serverAddr}" is not an IPv4 address`, base + at, base + serverEnd);
    return undefined;
  }
  if (server !== undefined) {
    const taken = [...addresses].find(([key, addr]) => (key === 'host' || key === 'dns') && addr === server);
    if (!inNetwork(server, net, prefixLength)) {
      issue('guestfwd-outside-net', `guestfwd server ${serverAddr} is outside the guest network ${formatIpv4(net)}/${prefixLength}`, base + at, base + serverEnd);
    } else if (taken) {
      issue('bad-guestfwd', `guestfwd server ${serverAddr} is the ${taken[0]} address: choose a free one such as 10.0.2.100`, base + at, base + serverEnd);
    }
  }
  at = serverEnd + 1;
  const dash = rule.indexOf('-', at);
  if (dash < 0) return whole(`guestfwd=${rule} has no "-" before its target`);
  const portText = rule.slice(at, dash);
  const serverPort = parsePort(portText, 1);
  if (serverPort === undefined) {
    issue('bad-guestfwd', `guestfwd port "${portText}" must be a number from 1 to 65535`, base + at, base + (dash > at ? dash : dash + 1));
    return undefined;
  }
  const target = rule.slice(dash + 1);
  const targetStart = base + dash + 1;
  if (target.startsWith('cmd:')) {
    if (target.length === 4) {
      issue('bad-guestfwd', 'guestfwd cmd: needs a command to run', targetStart, base + rule.length);
      return undefined;
    }
  } else {
    const tcp = /^tcp:([^:]*|\[[^\]]*\]):(\d+)(,.*)?$/.exec(target);
    if (!tcp || parsePort(tcp[2], 1) === undefined) {
      issue('bad-guestfwd', `guestfwd target "${target}": Usernet forwards to cmd:COMMAND or tcp:HOST:PORT`, targetStart, base + rule.length);
      return undefined;
    }
  }
  return { serverAddr, serverPort, start: base, end: base + rule.length };
}

function classfulPrefix(addr: number): number | undefined {
  if (addr < 0x80000000) return 8;
  if (addr < 0xc0000000) return 16;
  if (addr < 0xe0000000) return 24;
  return undefined;
}

function parsePort(text: string, min: number): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= min && port <= 65535 ? port : undefined;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/** "did you mean" for a misspelt suboption: the known name at edit distance 1 or 2. */
function suggestion(key: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of NETDEV_USER_SUBOPTION_NAMES) {
    const d = editDistance(key.toLowerCase(), name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean ${best}?)` : `: known ones are ${NETDEV_USER_SUBOPTION_NAMES.join(', ')}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * QEMU's hostfwd and guestfwd rules, read field by field so a mistake is
 * reported at the field that is wrong (`hostfwd=tcp::22x-:22` underlines `22x`).
 * The rules' place in the guest network (inside `net=`, not the gateway's
 * address) is checked by netdev-options.ts, which knows the network.
 */
import { parseIpv4 } from '../wire/address';
import { formatIpv6, parseIpv6 } from '../wire/ipv6-address';
import type { GuestForward, HostForward } from './config';
import { NetdevOptionError, throwFirstError, type NetdevIssue, type ReportIssue } from './netdev-issue';

export const HOSTFWD_FORM = 'hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, e.g. hostfwd=tcp::2222-:22';
export const GUESTFWD_FORM = 'guestfwd=[tcp]:server:port-cmd:COMMAND or guestfwd=tcp:10.0.2.100:80-tcp:127.0.0.1:8080';

/** A hostfwd rule and where its parts are in the spec. */
export interface HostForwardSpan {
  readonly rule: HostForward;
  /** The rule as written. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly hostPortStart: number;
  readonly hostPortEnd: number;
  readonly guestAddrStart: number;
  readonly guestAddrEnd: number;
}

/** A guestfwd rule (serverAddr 0 when not given) and where its server address is. */
export interface GuestForwardSpan {
  readonly rule: GuestForward;
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly serverStart: number;
  readonly serverEnd: number;
}

/**
 * QEMU's slirp_hostfwd: `[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`.
 * `rule` is the value as written and `base` its offset in the spec. An empty host
 * address binds loopback only: exposing the guest to the LAN must be asked for (0.0.0.0).
 */
export function readHostForward(rule: string, base: number, report: ReportIssue): HostForwardSpan | undefined {
  const { whole, part } = reporters('bad-hostfwd', HOSTFWD_FORM, rule, base, report);
  if (rule === '') return whole('empty hostfwd rule');
  const protoEnd = rule.indexOf(':');
  if (protoEnd < 0) return whole(`hostfwd=${rule} is missing its colons`);
  const protocol = rule.slice(0, protoEnd);
  if (protocol !== '' && protocol !== 'tcp' && protocol !== 'udp') return part(`hostfwd protocol "${protocol}" is not tcp or udp`, 0, protoEnd);
  let at = protoEnd + 1;
  // An IPv6 address is written in brackets: tcp:[::1]:2222-:22.
  const hostAddrEnd = rule[at] === '[' ? rule.indexOf(']:', at) + 1 || -1 : rule.indexOf(':', at);
  if (hostAddrEnd < 0) return whole(`hostfwd=${rule} is missing the host address field (it may be empty: tcp::2222-:22)`);
  const hostAddrText = rule.slice(at, hostAddrEnd);
  const hostAddr = hostAddrText === '' ? '127.0.0.1' : hostAddrText.replace(/^\[(.*)\]$/, '$1');
  if (hostAddrText !== '' && addressOf(hostAddrText) === undefined) {
    return part(`hostfwd host address "${hostAddrText}" is not an IPv4 address or a bracketed IPv6 one (leave it empty for 127.0.0.1, or write 0.0.0.0 for every interface)`, at, hostAddrEnd);
  }
  at = hostAddrEnd + 1;
  const dash = rule.indexOf('-', at);
  if (dash < 0) return whole(`hostfwd=${rule} has no "-" between the host and the guest side`);
  const hostPortText = rule.slice(at, dash);
  const hostPort = parsePort(hostPortText, 0);
  if (hostPort === undefined) return part(`hostfwd host port "${hostPortText}" must be a number from 0 to 65535`, at, dash > at ? dash : dash + 1);
  const hostPortStart = base + at;
  const hostPortEnd = base + dash;
  at = dash + 1;
  const guestColon = rule.lastIndexOf(':');
  if (guestColon < at) return whole(`hostfwd=${rule} is missing the guest side ([guestaddr]:guestport)`);
  const guestAddrText = rule.slice(at, guestColon);
  if (guestAddrText !== '' && addressOf(guestAddrText) === undefined) {
    return part(`hostfwd guest address "${guestAddrText}" is not an IPv4 address or a bracketed IPv6 one (leave it empty for the DHCP guest)`, at, guestColon);
  }
  const guestPortText = rule.slice(guestColon + 1);
  const guestPort = parsePort(guestPortText, 1);
  if (guestPort === undefined) return part(`hostfwd guest port "${guestPortText}" must be a number from 1 to 65535`, guestColon + (guestPortText ? 1 : 0), rule.length);
  const span = { text: rule, start: base, end: base + rule.length, hostPortStart, hostPortEnd, guestAddrStart: base + at, guestAddrEnd: base + guestColon };
  const proto = protocol === 'udp' ? 'udp' : 'tcp';
  if (guestAddrText.startsWith('[')) {
    if (proto === 'udp') return part(`hostfwd=${rule}: udp to an IPv6 guest address is not supported: forward to the guest's IPv4 address`, at, guestColon);
    return { ...span, rule: { protocol: proto, hostAddr, hostPort, guestAddr: 0, guestAddr6: addressOf(guestAddrText)!, guestPort } };
  }
  const guestAddr = guestAddrText === '' ? 0 : parseIpv4(guestAddrText)!;
  return { ...span, rule: { protocol: proto, hostAddr, hostPort, guestAddr, guestPort } };
}

/** Parses one hostfwd rule as `hostfwd_add` takes it; throws a NetdevOptionError. */
export function parseHostForwardRule(spec: string): HostForward {
  const issues: NetdevIssue[] = [];
  const span = readHostForward(spec, 0, (code, message, start, end) => issues.push({ code, severity: 'error', message, option: 'hostfwd', start, end }));
  throwFirstError(issues);
  return span!.rule;
}

/** QEMU's slirp_guestfwd: `[tcp]:server:port-TARGET` where TARGET is `cmd:COMMAND` or `tcp:HOST:PORT`. */
export function readGuestForward(rule: string, base: number, report: ReportIssue): GuestForwardSpan | undefined {
  const { whole, part } = reporters('bad-guestfwd', GUESTFWD_FORM, rule, base, report);
  const protoEnd = rule.indexOf(':');
  if (protoEnd < 0) return whole(`guestfwd=${rule} is missing its colons`);
  const protocol = rule.slice(0, protoEnd);
  if (protocol !== '' && protocol !== 'tcp') return part(`guestfwd forwards tcp only, not "${protocol}"`, 0, protoEnd);
  const serverStart = protoEnd + 1;
  const serverEnd = rule.indexOf(':', serverStart);
  if (serverEnd < 0) return whole(`guestfwd=${rule} is missing the server:port part`);
  const serverText = rule.slice(serverStart, serverEnd);
  const serverAddr = serverText === '' ? 0 : parseIpv4(serverText);
  if (serverAddr === null) return part(`guestfwd server "${serverText}" is not an IPv4 address`, serverStart, serverEnd);
  const dash = rule.indexOf('-', serverEnd + 1);
  if (dash < 0) return whole(`guestfwd=${rule} has no "-" before its target`);
  const portText = rule.slice(serverEnd + 1, dash);
  const serverPort = parsePort(portText, 1);
  if (serverPort === undefined) return part(`guestfwd port "${portText}" must be a number from 1 to 65535`, serverEnd + 1, dash > serverEnd + 1 ? dash : dash + 1);
  // Only a command can hold a comma, written ,, in QEMU's option syntax.
  const target = rule.slice(dash + 1).replace(/,,/g, ',');
  const span = { text: rule, start: base, end: base + rule.length, serverStart: base + serverStart, serverEnd: base + serverEnd };
  if (target.startsWith('cmd:')) {
    const command = target.slice(4);
    if (command.trim() === '') return part('guestfwd cmd: needs a command to run', dash + 1, rule.length);
    return { ...span, rule: { protocol: 'tcp', serverAddr, serverPort, target: { kind: 'cmd', command } } };
  }
  const tcp = /^tcp:(.+):(\d+)$/.exec(target);
  if (!tcp) return part(`guestfwd target "${target}": Usernet forwards to cmd:COMMAND or tcp:HOST:PORT`, dash + 1, rule.length);
  const port = parsePort(tcp[2]!, 1);
  if (port === undefined) return part(`guestfwd target port "${tcp[2]}" must be a number from 1 to 65535`, rule.length - tcp[2]!.length, rule.length);
  const host = tcp[1]!.replace(/^\[(.*)\]$/, '$1');
  return { ...span, rule: { protocol: 'tcp', serverAddr, serverPort, target: { kind: 'tcp', host, port } } };
}

/** A rule's two ways to be wrong: as a whole (then its form is shown) or in one field (offsets within the rule). */
function reporters(code: string, form: string, rule: string, base: number, report: ReportIssue) {
  return {
    whole: (message: string): undefined => void report(code, `${message}: write ${form}`, base, base + rule.length),
    part: (message: string, from: number, to: number): undefined => void report(code, message, base + from, base + to),
  };
}

/** An IPv4 address, or an IPv6 one in brackets ([::1]), in its canonical text; undefined if neither. */
function addressOf(text: string): string | undefined {
  if (text.startsWith('[') && text.endsWith(']')) {
    const v6 = parseIpv6(text.slice(1, -1));
    return v6 === null ? undefined : formatIpv6(v6);
  }
  return parseIpv4(text) === null ? undefined : text;
}

export function parsePort(text: string, min: number): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= min && port <= 65535 ? port : undefined;
}

/** "[tcp|udp]:[hostaddr]:hostport" as QEMU's hostfwd_remove takes it. */
export function parseHostForwardRemoval(spec: string): Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'> {
  const parts = spec.split(':');
  let protocol: 'tcp' | 'udp' = 'tcp';
  if (parts.length === 3) {
    const p = parts.shift()!;
    if (p === 'udp' || p === 'tcp') protocol = p;
    else if (p !== '') throw new NetdevOptionError(`bad protocol '${p}' in hostfwd_remove ${spec}: expected tcp or udp`, 'hostfwd', 0, spec.length);
  }
  if (parts.length !== 2 || !/^\d{1,5}$/.test(parts[1]!) || Number(parts[1]) > 65535) {
    throw new NetdevOptionError(`bad hostfwd_remove ${spec}: expected [tcp|udp]:[hostaddr]:hostport`, 'hostfwd', 0, spec.length);
  }
  return { protocol, hostAddr: parts[0] === '' ? '127.0.0.1' : parts[0]!, hostPort: Number(parts[1]) };
}

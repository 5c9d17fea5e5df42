import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileFilter, completeField, evaluateField, FIELD_CATALOG, FilterSyntaxError } from '../../../extension/pipeline/filter';
import type { ProbeHit } from '../../../extension/pipeline/probe';
import * as F from './frames';
import * as P from './packets';

const hit = (frame: Uint8Array, extra: Partial<ProbeHit> = {}): ProbeHit => ({ stage: 'slirp_input', frame, ...extra });

/** Each filter lists exactly the packets (by name in P.ALL) it must match. */
const TABLE: Array<[string, string[]]> = [
  ['tcp', ['syn', 'synAck', 'httpGet', 'rst', 'ipv6Tcp']],
  ['udp', ['udpData', 'dhcpDiscover', 'dhcpOffer', 'dnsQuery', 'dnsResponse']],
  ['arp', ['arpRequest', 'arpReply']],
  ['icmp', ['ping', 'pong', 'vlanPing']],
  ['icmpv6', ['neighborSolicit']],
  ['ipv6', ['neighborSolicit', 'ipv6Tcp']],
  ['dhcp', ['dhcpDiscover', 'dhcpOffer']],
  ['dns', ['dnsQuery', 'dnsResponse']],
  ['vlan', ['vlanPing']],
  ['!ip', ['arpRequest', 'arpReply', 'neighborSolicit', 'ipv6Tcp', 'lldp']],
  ['eth.type == 0x88cc', ['lldp']],
  ['tcp.flags.syn == 1', ['syn', 'synAck', 'ipv6Tcp']],
  ['tcp.flags.syn == 1 && tcp.flags.ack == 0', ['syn', 'ipv6Tcp']],
  ['tcp.flags.syn == true and not tcp.flags.ack == 1', ['syn', 'ipv6Tcp']],
  // A bare boolean field tests existence, as in Wireshark: a SYN without ACK still has the ACK bit field.
  ['tcp.flags.syn == true and not tcp.flags.ack', []],
  ['tcp.flags == 0x12', ['synAck']],
  ['tcp.flags.reset == 1 || tcp.flags.fin == 1', ['rst']],
  ['tcp.dstport == 80 && ip.dst == 93.184.216.34', ['httpGet']],
  ['tcp.port == 8080', ['syn', 'synAck']],
  ['tcp.port eq 8080 and tcp.srcport ne 8080', ['syn']],
  ['tcp.port != 8080', ['httpGet', 'rst', 'ipv6Tcp']],
  ['tcp.port ~= 8080', ['syn', 'synAck', 'httpGet', 'rst', 'ipv6Tcp']],
  ['tcp.port in {80 443 8000..8080}', ['syn', 'synAck', 'httpGet', 'rst']],
  ['tcp.port in {80, 443}', ['httpGet', 'rst']],
  ['tcp.dstport not in {80 8080}', ['synAck', 'rst', 'ipv6Tcp']],
  ['udp.port in {53 67..68}', ['dhcpDiscover', 'dhcpOffer', 'dnsQuery', 'dnsResponse']],
  ['tcp.options.mss_val == 1460', ['syn', 'synAck']],
  ['tcp.options.wscale.shift >= 7', ['syn']],
  ['tcp.window_size_value < 65535', ['syn']],
  ['tcp.len > 0', ['httpGet']],
  ['tcp.payload contains "HTTP/1.1"', ['httpGet']],
  ['tcp.payload contains 47:45:54', ['httpGet']],
  ['tcp contains "GET"', ['httpGet']],
  ['tcp.payload matches "^get /"', []],
  ['tcp.payload matches "(?i)^get /"', ['httpGet']],
  ['tcp.seq == 1000 && tcp.ack == 1', ['synAck']],
  ['ip.addr == 10.0.2.2', ['syn', 'synAck', 'rst', 'udpData', 'dhcpOffer', 'fragment', 'vlanPing']],
  ['ip.addr == 10.0.2.0/24', ['syn', 'synAck', 'httpGet', 'rst', 'ping', 'pong', 'udpData', 'dhcpOffer', 'dnsQuery', 'dnsResponse', 'fragment', 'vlanPing']],
  ['ip.addr != 10.0.2.0/24', ['dhcpDiscover']],
  ['!(ip.addr == 10.0.2.0/24)', ['arpRequest', 'arpReply', 'dhcpDiscover', 'neighborSolicit', 'ipv6Tcp', 'lldp']],
  ['ip.src == 10.0.2.15 && ip.dst != 10.0.2.0/24', ['httpGet', 'ping']],
  ['ip.dst in {8.8.8.8 10.0.2.3}', ['ping', 'dnsQuery']],
  ['ip.dst in {10.0.2.1..10.0.2.3}', ['syn', 'udpData', 'dnsQuery', 'fragment', 'vlanPing']],
  ['ip.src == ip.dst', []],
  ['ip.flags.df == 1', ['syn']],
  ['ip.flags.mf == 1 || ip.frag_offset > 0', ['fragment']],
  ['ip.ttl == 64 && ip.proto == 1', ['ping', 'pong', 'vlanPing']],
  ['ip.len <= 28', ['fragment']],
  ['ip.hdr_len == 20 && ip.id == 0x4242', ['syn']],
  ['eth.src == 52:54:00:12:34:56 && arp', ['arpRequest']],
  ['eth.addr == 52:54:00:12:34:56 && arp', ['arpRequest', 'arpReply']],
  ['eth.dst == ff:ff:ff:ff:ff:ff', ['arpRequest']],
  ['eth.dst == ff-ff-ff-ff-ff-ff', ['arpRequest']],
  ['arp.opcode == 1 && arp.dst.proto_ipv4 == 10.0.2.2', ['arpRequest']],
  ['arp.src.hw_mac == 52:55:0a:00:02:02', ['arpReply']],
  ['arp.src.proto_ipv4 == 10.0.2.2', ['arpReply']],
  ['icmp.type == 8 && icmp.ident == 0x77 && icmp.seq == 3', ['ping']],
  ['icmp.code == 0 and icmp.type in {0 8}', ['ping', 'pong', 'vlanPing']],
  ['icmpv6.type == 135 && icmpv6.code == 0', ['neighborSolicit']],
  ['ipv6.src == fe80::5054:ff:fe12:3456', ['neighborSolicit', 'ipv6Tcp']],
  ['ipv6.addr == ff02::1', ['neighborSolicit']],
  ['ipv6.addr == fe80::/10 && tcp', ['ipv6Tcp']],
  ['ipv6.dst == 2001:db8::/32', ['ipv6Tcp']],
  ['ipv6.nxt == 58 && ipv6.plen == 24 && ipv6.hlim == 255', ['neighborSolicit']],
  ['vlan.id == 42', ['vlanPing']],
  ['udp.srcport == 5000 && udp.dstport == 9999 && udp.length == 11', ['udpData']],
  ['udp.checksum == 0x1234 && !dhcp && !dns', ['udpData']],
  ['dhcp.option.dhcp == 1', ['dhcpDiscover']],
  ['dhcp.option.hostname == "usernet-guest"', ['dhcpDiscover']],
  ['dhcp.option.hostname contains "guest"', ['dhcpDiscover']],
  ['dhcp.option.requested_ip_address == 10.0.2.15', ['dhcpDiscover']],
  ['dhcp.hw.mac_addr == 52:54:00:12:34:56', ['dhcpDiscover', 'dhcpOffer']],
  ['dhcp.ip.your == 10.0.2.15', ['dhcpOffer']],
  ['dns.qry.name == "www.example.com"', ['dnsQuery', 'dnsResponse']],
  ['dns.qry.name contains "example"', ['dnsQuery', 'dnsResponse']],
  ['dns.qry.name matches "example\\\\.com$"', ['dnsQuery', 'dnsResponse']],
  ['dns.flags.response == 0', ['dnsQuery']],
  ['dns.flags.response == 1 && dns.count.answers == 2', ['dnsResponse']],
  ['dns.a == 93.184.216.35', ['dnsResponse']],
  ['dns.id == 0xbeef && dns.qry.type == 1', ['dnsQuery', 'dnsResponse']],
  ['frame.len > 100', ['dhcpDiscover', 'dhcpOffer', 'dnsResponse']],
  ['tcp || udp && !dns', ['syn', 'synAck', 'httpGet', 'rst', 'ipv6Tcp', 'udpData', 'dhcpDiscover', 'dhcpOffer']],
  ['(tcp || udp) && !dns && !dhcp && !ipv6', ['syn', 'synAck', 'httpGet', 'rst', 'udpData']],
  ['tcp ^^ ipv6', ['syn', 'synAck', 'httpGet', 'rst', 'neighborSolicit']],
  ['not not arp', ['arpRequest', 'arpReply']],
  ['', Object.keys(P.ALL)],
];

test('filter table: each expression matches exactly its packets', () => {
  for (const [text, expected] of TABLE) {
    const f = compileFilter(text);
    const got = Object.entries(P.ALL).filter(([, frame]) => f.matches(hit(frame))).map(([name]) => name);
    assert.deepEqual(got.sort(), [...expected].sort(), `filter: ${text}`);
    // The frame-only entry point agrees.
    assert.deepEqual(Object.entries(P.ALL).filter(([, frame]) => f.matchesFrame(frame)).map(([n]) => n).sort(), [...expected].sort(), text);
  }
});

test('dns matches DNS over TCP too (as Wireshark): a port-53 segment that starts a message, its fields read after the length', () => {
  const query = F.dnsQuery(0xcafe, 'tcp.example.test');
  const segment = (payload: number[], sport = 40000, dport = 53) =>
    F.ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.3', proto: 6 }, F.tcp({ sport, dport, seq: 1, ack: 1, flags: F.TCP.PSH | F.TCP.ACK, payload }));
  const overTcp = segment([query.length >> 8, query.length & 255, ...query]);
  const answerBack = segment([query.length >> 8, query.length & 255, ...query], 53, 40000);
  for (const text of ['dns', 'tcp && dns', 'dns.id == 0xcafe', 'dns.qry.name contains "example"', 'dns.flags.response == 0']) {
    assert.equal(compileFilter(text).matches(hit(overTcp)), true, text);
    assert.equal(compileFilter(text).matchesFrame(overTcp), true, text);
  }
  assert.equal(compileFilter('dns').matches(hit(answerBack)), true, 'from port 53 too');
  // Not DNS: a bare ACK on port 53, a segment too short for a header, another port.
  assert.equal(compileFilter('dns').matches(hit(segment([]))), false);
  assert.equal(compileFilter('dns').matches(hit(segment([0, 4, 1, 2, 3, 4]))), false);
  assert.equal(compileFilter('dns').matches(hit(segment([query.length >> 8, query.length & 255, ...query], 40000, 5353))), false);
});

test('multi-value fields: == is "any", != is "all differ" and needs the field', () => {
  const syn = hit(P.syn); // 10.0.2.15 -> 10.0.2.2
  assert.equal(compileFilter('ip.addr == 10.0.2.15').matches(syn), true);
  assert.equal(compileFilter('ip.addr == 10.0.2.2').matches(syn), true);
  assert.equal(compileFilter('ip.addr != 10.0.2.2').matches(syn), false);
  assert.equal(compileFilter('ip.addr != 1.2.3.4').matches(syn), true);
  assert.equal(compileFilter('ip.addr ~= 10.0.2.2').matches(syn), true);
  assert.equal(compileFilter('ip.addr === 10.0.2.2').matches(syn), false);
  assert.equal(compileFilter('ip.addr all_eq 10.0.2.0/24').matches(syn), true);
  assert.equal(compileFilter('tcp.port > 9000').matches(syn), true);
  assert.equal(compileFilter('tcp.port < 8080').matches(syn), false);
  // A packet without the field matches neither == nor !=.
  assert.equal(compileFilter('ip.addr == 1.2.3.4').matches(hit(P.arpRequest)), false);
  assert.equal(compileFilter('ip.addr != 1.2.3.4').matches(hit(P.arpRequest)), false);
  assert.equal(compileFilter('!(ip.addr == 1.2.3.4)').matches(hit(P.arpRequest)), true);
});

test('CIDR blocks, boundaries and /0', () => {
  const ping = hit(P.ping); // 10.0.2.15 -> 8.8.8.8
  assert.equal(compileFilter('ip.dst == 8.0.0.0/8').matches(ping), true);
  assert.equal(compileFilter('ip.dst == 8.8.8.8/32').matches(ping), true);
  assert.equal(compileFilter('ip.dst == 8.8.8.9/31').matches(ping), true);
  assert.equal(compileFilter('ip.dst == 8.8.8.10/31').matches(ping), false);
  assert.equal(compileFilter('ip.dst == 0.0.0.0/0').matches(ping), true);
  assert.equal(compileFilter('ip.src == 10.0.2.0/25').matches(ping), true);
  assert.equal(compileFilter('ip.src == 10.0.2.128/25').matches(ping), false);
  assert.equal(compileFilter('ip.src in {192.168.0.0/16 10.0.0.0/8}').matches(ping), true);
});

test('context fields: pipeline stage, e1000 descriptor and session', () => {
  const h = hit(P.syn, {
    stage: 'e1000_send_packet',
    descriptor: { ring: 'tx', index: 5, address: 0x2000, fields: { kind: 'data', length: 62, eop: true, cmd: 0x2b } },
    session: { id: 9, protocol: 'tcp', state: 'ESTABLISHED', guestAddr: '10.0.2.15', guestPort: 40000, hostAddr: '127.0.0.1', hostPort: 8080 },
  });
  const yes = (f: string) => assert.equal(compileFilter(f).matches(h), true, f);
  const no = (f: string) => assert.equal(compileFilter(f).matches(h), false, f);
  yes('pipeline.stage == "e1000_send_packet"');
  yes('pipeline.stage == e1000_send_packet');
  yes('e1000.ring == "tx" && e1000.index == 5 && e1000.addr == 0x2000');
  yes('e1000.index in {4..6}');
  yes('e1000.length == 62 && e1000.cmd == 0x2b && e1000.eop == 1 && e1000.kind == "data"');
  yes('e1000.kind == data');
  no('e1000.length > 100');
  no('e1000.nosuchfield');
  yes('e1000.kind');
  yes('session.id == 9 && session.state == "ESTABLISHED" && session.protocol == "tcp"');
  yes('session.protocol == tcp');
  yes('session.guest.port == 40000 && session.host.port == 8080 && session.host.addr == 127.0.0.1');
  yes('session.guest.addr == 10.0.2.0/24');
  no('session.state contains "CLOSE"');
  yes('session && e1000 && pipeline.stage');
  assert.equal(compileFilter('session').matches(hit(P.syn)), false);
  assert.equal(compileFilter('e1000').matches(hit(P.syn)), false);
  assert.equal(compileFilter('session.id').matches(hit(P.syn)), false);
  assert.equal(compileFilter('e1000.ring == "tx"').matches(hit(P.syn)), false);
  assert.equal(compileFilter('e1000.reg.offset == 0x3818 && e1000.reg.write').matches(
    { stage: 'e1000_mmio_write', frame: new Uint8Array(0), register: { offset: 0x3818, value: 4, write: true } }), true);
});

/** [filter, column, token, expected (or undefined), message fragment] */
const ERRORS: Array<[string, number, string, string | undefined, string]> = [
  ['tcp.port ==', 12, '', 'a value', "expected a value after '==' at column 12"],
  ['tcp.port == ', 13, '', 'a value', "expected a value after '==' at column 13"],
  ['tcp.port == 80 80', 16, '80', "'&&', '||' or the end of the filter", "expected '&&', '||' or the end of the filter, got '80' at column 16"],
  ['tcp.port == 80 &&', 18, '', 'a field name', "expected a field name after '&&' at column 18"],
  ['== 80', 1, '==', 'a field name', "expected a field name, got '==' at column 1"],
  ['(tcp', 5, '', "')'", "expected ')' to close the '(' of column 1 at column 5"],
  ['tcp)', 4, ')', "'&&', '||' or the end of the filter", "unbalanced ')' at column 4"],
  ['()', 2, ')', 'an expression', "expected an expression after '(', got ')' at column 2"],
  ['not', 4, '', 'an expression', "expected an expression after 'not' at column 4"],
  ['tcp.port in 80', 13, '80', "'{' to open a set", "expected '{' to open a set after 'in', got '80' at column 13"],
  ['tcp.port in {80 443', 20, '', "'}'", "expected '}' to close the set of column 13 at column 20"],
  ['tcp.port in {}', 14, '}', 'a value', "expected a value after '{', got '}' at column 14"],
  ['tcp.port in {80..}', 18, '}', 'a value', "expected a value after '..', got '}' at column 18"],
  ['tcp.payload matches foo', 21, 'foo', 'a quoted regular expression', "expected a quoted regular expression after 'matches', got 'foo' at column 21"],
  ['dns.qry.name == "abc', 17, '"abc', "a closing '\"'", 'unterminated string at column 17'],
  ['dns.qry.name == "a\\qb"', 19, '\\q', undefined, "invalid escape '\\q' in string at column 19"],
  ['tcp.port == 80 $', 16, '$', undefined, "unexpected character '$' at column 16"],
  ['tcp.flags & 0x02', 11, '&', undefined, "unexpected character '&' at column 11"],
  ['eth.dst[0:1] == 01', 8, '[', undefined, 'field slices like "[0:3]" are not supported at column 8'],
  ['ip.src == "10.0.2.15"', 11, '"10.0.2.15"', 'an IPv4 address', 'ip.src is an IPv4 address, cannot compare with string at column 11'],
  ['tcp.port == "80"', 13, '"80"', 'an unsigned integer', 'tcp.port is an unsigned integer, cannot compare with string at column 13'],
  ['ip.src == 10.0.2', 11, '10.0.2', 'an IPv4 address', "'10.0.2' is not an IPv4 address, as ip.src needs at column 11"],
  ['ip.src == 10.0.2.0/33', 11, '10.0.2.0/33', 'an IPv4 address', "'10.0.2.0/33' is not an IPv4 address, as ip.src needs at column 11"],
  ['ip.src > 10.0.0.0/8', 8, '>', "'==' or '!='", "a network ('10.0.0.0/8') can only be tested with '==' or '!=' at column 8"],
  ['tcp.port == 0x', 13, '0x', 'an unsigned integer', "'0x' is not an unsigned integer, as tcp.port needs at column 13"],
  ['tcp.flags.syn == 2', 18, '2', 'a boolean', "'2' is not a boolean, as tcp.flags.syn needs (use 1 or 0) at column 18"],
  ['eth.src == 52:54:00:12:34', 12, '52:54:00:12:34', 'an Ethernet address', "'52:54:00:12:34' is not an Ethernet address, as eth.src needs at column 12"],
  ['ipv6.src == fe80:::1', 13, 'fe80:::1', 'an IPv6 address', "'fe80:::1' is not an IPv6 address, as ipv6.src needs at column 13"],
  ['tcp.port contains 80', 10, 'contains', "a comparison such as '=='", "tcp.port is an unsigned integer; 'contains' needs a string, byte or protocol field at column 10"],
  ['ip.ttl matches "6"', 8, 'matches', "a comparison such as '=='", "ip.ttl is an unsigned integer; 'matches' needs a string, byte or protocol field at column 8"],
  ['dns.qry.name matches "("', 22, '"("', 'a valid regular expression', 'invalid regular expression'],
  ['tcp == 1', 5, '==', "'contains', 'matches' or nothing", "tcp is a protocol: test it alone ('tcp') or with 'contains', not with '==' at column 5"],
  ['ip.src == tcp.srcport', 11, 'tcp.srcport', 'a field or value that is an IPv4 address', 'cannot compare tcp.srcport (an unsigned integer) with a field that is an IPv4 address at column 11'],
  ['tcp.port in {80 tcp.srcport}', 17, 'tcp.srcport', 'an unsigned integer', "'tcp.srcport' is not an unsigned integer, as tcp.port needs at column 17"],
  ['tcp.dstprt == 80', 1, 'tcp.dstprt', 'a known field name', "unknown field 'tcp.dstprt' (did you mean 'tcp.dstport'?) at column 1"],
  ['tcp.port == 80 && ip.scr == 1.2.3.4', 19, 'ip.scr', 'a known field name', "unknown field 'ip.scr' (did you mean 'ip.src'?) at column 19"],
  ['frobnicate', 1, 'frobnicate', 'a known field name', "unknown field 'frobnicate' at column 1"],
  ['foo == 1 || barr.x == 2', 1, 'foo', 'a known field name', "unknown fields 'foo' (column 1), 'barr.x' (column 13); the first at column 1"],
  ['tcp.port == tcp.srcprot', 13, 'tcp.srcprot', 'a known field name', "unknown field 'tcp.srcprot' (did you mean 'tcp.srcport'?) at column 13"],
];

test('every error carries its column, token and expectation', () => {
  for (const [text, column, token, expected, message] of ERRORS) {
    let err: unknown;
    try {
      compileFilter(text);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof FilterSyntaxError, `${text}: expected a FilterSyntaxError, got ${String(err)}`);
    assert.equal(err.column, column, `${text}: column (${err.message})`);
    assert.equal(err.token, token, `${text}: token`);
    if (expected !== undefined) assert.equal(err.expected, expected, `${text}: expected`);
    assert.ok(err.message.includes(message), `${text}: message "${err.message}" lacks "${message}"`);
    assert.match(err.message, new RegExp(`at column ${column}$`), text);
  }
});

test('unknown fields are listed with suggestions', () => {
  try {
    compileFilter('tcp.dstprt == 80 || udp.srcprt == 53 || zzzz');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof FilterSyntaxError);
    assert.equal(e.kind, 'unknown-field');
    assert.deepEqual(e.unknownFields.map((u) => [u.name, u.column, u.suggestion]), [
      ['tcp.dstprt', 1, 'tcp.dstport'], ['udp.srcprt', 21, 'udp.srcport'], ['zzzz', 41, undefined],
    ]);
  }
});

test('literals: hex, octal, escapes, MAC spellings, byte strings, IPv6 forms', () => {
  assert.equal(compileFilter('tcp.dstport == 0x1f90').matches(hit(P.syn)), true);
  assert.equal(compileFilter('ip.ttl == 0100').matches(hit(P.syn)), true); // octal 64
  assert.equal(compileFilter('eth.src == 5254.0012.3456').matches(hit(P.syn)), true);
  assert.equal(compileFilter('tcp.payload contains "\\x47\\x45T"').matches(hit(P.httpGet)), true);
  assert.equal(compileFilter('tcp.payload contains "\\r\\n"').matches(hit(P.httpGet)), true);
  assert.equal(compileFilter('tcp.payload contains 0d-0a').matches(hit(P.httpGet)), true);
  assert.equal(compileFilter('tcp.payload == 47:45:54').matches(hit(P.httpGet)), false);
  assert.equal(compileFilter('ipv6.dst == 2001:0db8:0:0:0:0:0:2').matches(hit(P.ipv6Tcp)), true);
  assert.equal(compileFilter('ipv6.dst == 2001:db8::0.0.0.2').matches(hit(P.ipv6Tcp)), true);
  assert.equal(compileFilter('dns.qry.name == "WWW.example.com"').matches(hit(P.dnsQuery)), false);
  assert.equal(compileFilter('dns.qry.name > "a" && dns.qry.name < "x"').matches(hit(P.dnsQuery)), true);
  // Keywords are case-insensitive, field names are not (as in Wireshark).
  assert.equal(compileFilter('tcp.port == 80 AND ip').matches(hit(P.httpGet)), true);
  assert.throws(() => compileFilter('TCP.port == 80'), /did you mean 'tcp.port'/);
});

test('compiled filters report the fields they read', () => {
  assert.deepEqual(compileFilter('tcp.dstport == 80 && (ip.addr == 10.0.2.0/24 || !udp)').fields.sort(), ['ip.addr', 'tcp.dstport', 'udp']);
  assert.deepEqual(compileFilter('ip.src == ip.dst').fields.sort(), ['ip.dst', 'ip.src']);
  assert.deepEqual(compileFilter('').fields, []);
});

test('evaluateField prints fields and rejects unknown names with a suggestion', () => {
  const e = evaluateField('ip.addr', hit(P.syn));
  assert.equal(e.type, 'ipv4');
  assert.deepEqual(e.display, ['10.0.2.15', '10.0.2.2']);
  assert.deepEqual(evaluateField(' tcp.flags ', hit(P.syn)).display, ['0x002 (SYN)']);
  assert.deepEqual(evaluateField('dns.a', hit(P.syn)).values, []);
  assert.throws(() => evaluateField('ip.srcc', hit(P.syn)), (err: unknown) => err instanceof FilterSyntaxError && /did you mean 'ip.src'/.test(err.message));
});

test('completion lists catalog fields by prefix', () => {
  const names = completeField('tcp.flags.').map((f) => f.name);
  assert.ok(names.includes('tcp.flags.syn') && names.includes('tcp.flags.cwr'));
  assert.ok(names.every((n) => n.startsWith('tcp.flags.')));
  assert.ok(FIELD_CATALOG.length > 100);
});

import { formatIpv4 } from '../../../extension/wire/address';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SLIRP_CONFIG, ip4 } from '../../../extension/slirp/config';
import { NetdevOptionError, parseNetdevUser, readNetdevUser } from '../../../extension/slirp/netdev-options';
import { parseHostForwardRemoval } from '../../../extension/slirp/forward-rules';

test('an empty spec and a bare "user" give QEMU defaults', () => {
  for (const spec of ['', 'user', 'user,id=user.0']) {
    const c = parseNetdevUser(spec);
    assert.equal(c.id, 'user.0');
    assert.equal(c.net, DEFAULT_SLIRP_CONFIG.net);
    assert.equal(c.prefixLength, 24);
    assert.equal(c.host, ip4(10, 0, 2, 2));
    assert.equal(c.dns, ip4(10, 0, 2, 3));
    assert.equal(c.dhcpStart, ip4(10, 0, 2, 15));
    assert.equal(c.ipv4, true);
    assert.equal(c.ipv6, true);
    assert.equal(c.restrict, false);
    assert.equal(c.ipv6Net, 'fec0::');
    assert.equal(c.ipv6Host, 'fec0::2');
    assert.deepEqual(c.hostForwards, []);
    assert.equal(c.mtu, 1500, "libslirp's link unless mtu= says otherwise");
    assert.equal(c.mtuGiven, undefined);
  }
});

test('a full spec with every suboption', () => {
  const c = parseNetdevUser(
    'user,id=n0,ipv4=on,ipv6=on,net=192.168.76.0/24,host=192.168.76.1,dhcpstart=192.168.76.100,dns=192.168.76.53,' +
      'restrict=off,hostname=vm,domainname=example.test,dnssearch=a.test,dnssearch=b.test,ipv6-net=fd00:1::/48,ipv6-host=fd00:1::1,' +
      'ipv6-dns=fd00:1::53,tftp=/srv/tftp,tftp-server-name=boot.test,bootfile=pxelinux.0,smb=/tmp,' +
      'hostfwd=tcp::2222-:22,hostfwd=udp:0.0.0.0:5353-192.168.76.100:53,guestfwd=tcp:192.168.76.9:80-tcp:127.0.0.1:8080,' +
      'guestfwd=tcp:192.168.76.10:4444-cmd:nc 127.0.0.1 4444,dns-upstream=127.0.0.1:5300,disable-host-loopback=on,mtu=1500',
  );
  assert.equal(c.id, 'n0');
  assert.equal(formatIpv4(c.net), '192.168.76.0');
  assert.equal(formatIpv4(c.host), '192.168.76.1');
  assert.equal(formatIpv4(c.dhcpStart), '192.168.76.100');
  assert.equal(formatIpv4(c.dns), '192.168.76.53');
  assert.equal(c.hostname, 'vm');
  assert.equal(c.domainName, 'example.test');
  assert.deepEqual(c.dnsSearch, ['a.test', 'b.test']);
  assert.equal(c.ipv6Net, 'fd00:1::');
  assert.equal(c.ipv6PrefixLength, 48);
  assert.equal(c.ipv6Host, 'fd00:1::1');
  assert.equal(c.ipv6Dns, 'fd00:1::53');
  assert.equal(c.tftpRoot, '/srv/tftp');
  assert.equal(c.tftpServerName, 'boot.test');
  assert.equal(c.bootFile, 'pxelinux.0');
  assert.deepEqual(c.unsupportedOptions, ['smb']);
  assert.deepEqual(c.hostForwards, [
    { protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 2222, guestAddr: 0, guestPort: 22 },
    { protocol: 'udp', hostAddr: '0.0.0.0', hostPort: 5353, guestAddr: ip4(192, 168, 76, 100), guestPort: 53 },
  ]);
  assert.deepEqual(c.guestForwards, [
    { protocol: 'tcp', serverAddr: ip4(192, 168, 76, 9), serverPort: 80, target: { kind: 'tcp', host: '127.0.0.1', port: 8080 } },
    { protocol: 'tcp', serverAddr: ip4(192, 168, 76, 10), serverPort: 4444, target: { kind: 'cmd', command: 'nc 127.0.0.1 4444' } },
  ]);
  assert.equal(c.dnsUpstream, '127.0.0.1:5300');
  assert.equal(c.disableHostLoopback, true);
  assert.equal(c.mtu, 1500);
});

test('net= moves the default host, dns and dhcpstart with it (x.x.2.2 as QEMU); netmask and classful forms', () => {
  const a = parseNetdevUser('net=10.9.0.0/16');
  assert.deepEqual([a.host, a.dns, a.dhcpStart].map(formatIpv4), ['10.9.2.2', '10.9.2.3', '10.9.2.15']);
  const b = parseNetdevUser('net=192.168.7.0/24');
  assert.deepEqual([b.host, b.dns, b.dhcpStart].map(formatIpv4), ['192.168.7.2', '192.168.7.3', '192.168.7.15']);
  assert.equal(parseNetdevUser('net=10.9.8.0/255.255.255.0').prefixLength, 24);
  assert.equal(parseNetdevUser('net=192.168.0.0').prefixLength, 16);
  assert.equal(parseNetdevUser('net=172.16.0.0').prefixLength, 12);
  assert.equal(parseNetdevUser('ip=10.0.0.0').prefixLength, 8);
});

test('empty options (leading or trailing commas) are ignored; id=a,,b is the id "a,b"', () => {
  assert.equal(parseNetdevUser(',id=a,').id, 'a');
  assert.equal(parseNetdevUser('id=a,,b').id, 'a,b');
});

test("QEMU's ,, escapes a comma inside a value", () => {
  const c = parseNetdevUser('guestfwd=tcp:10.0.2.100:1-cmd:printf a,,b,hostname=x');
  assert.deepEqual(c.guestForwards[0]!.target, { kind: 'cmd', command: 'printf a,b' });
  assert.equal(c.hostname, 'x');
});

test('ipv4/ipv6: naming one decides the other', () => {
  assert.deepEqual([parseNetdevUser('ipv4=on').ipv4, parseNetdevUser('ipv4=on').ipv6], [true, false]);
  assert.deepEqual([parseNetdevUser('ipv6=off').ipv4, parseNetdevUser('ipv6=off').ipv6], [true, false]);
  assert.deepEqual([parseNetdevUser('ipv4=off').ipv4, parseNetdevUser('ipv4=off').ipv6], [false, true]);
  assert.equal(parseNetdevUser('restrict').restrict, true);
  assert.equal(parseNetdevUser('restrict=yes').restrict, true);
});

test('guestfwd without a server address uses net|4 as libslirp does; hostfwd port 0 is allowed', () => {
  assert.equal(parseNetdevUser('guestfwd=tcp::80-tcp:127.0.0.1:8080').guestForwards[0]!.serverAddr, ip4(10, 0, 2, 4));
  assert.equal(parseNetdevUser('hostfwd=:127.0.0.1:0-:22').hostForwards[0]!.hostPort, 0);
});

/** [spec, issue code, message, the text of the spec the issue's range covers] */
const INVALID: [string, string, RegExp, string][] = [
  ['user,foo=1', 'unknown-netdev-suboption', /^unknown -netdev user suboption "foo"/, 'foo'],
  ['id=a,bogus', 'unknown-netdev-suboption', /^unknown -netdev user suboption "bogus"/, 'bogus'],
  ['dns', 'suboption-without-value', /^dns needs a value: dns=\.\.\.$/, 'dns'],
  ['dns=10.0.2.3,dns=10.0.2.4', 'duplicate-suboption', /^dns is given twice; QEMU refuses a repeated dns=$/, 'dns'],
  ['net=10.0.2.0/24,ip=10.0.3.0/24', 'duplicate-suboption', /^ip= and net= are one option: give it once$/, 'ip'],
  ['id=', 'bad-id', /^id= needs a name$/, 'id='],
  ['=x', 'unknown-netdev-suboption', /^missing option name before '=' in "=x"$/, '=x'],
  ['restrict=maybe', 'bad-boolean', /^restrict=maybe: use on or off$/, 'maybe'],
  ['ipv4=off,ipv6=off', 'no-ip-version', /^ipv4=off and ipv6=off leave the guest no network: keep one on$/, 'ipv6=off'],
  ['net=10.0.2.0/33', 'bad-prefix', /^net=10\.0\.2\.0\/33: give a prefix length from 1 to 28 \(or a netmask like 255\.255\.255\.0\), leaving room for host, dns and DHCP$/, '33'],
  ['net=10.0.2.0/30', 'bad-prefix', /^net=10\.0\.2\.0\/30: give a prefix length from 1 to 28 \(or a netmask like 255\.255\.255\.0\), leaving room for host, dns and DHCP$/, '30'],
  ['net=10.0.2.0/255.0.255.0', 'bad-prefix', /^net=10\.0\.2\.0\/255\.0\.255\.0: give a prefix length from 1 to 28 \(or a netmask like 255\.255\.255\.0\), leaving room for host, dns and DHCP$/, '255.0.255.0'],
  ['net=10.0.2.300/24', 'bad-address', /^bad IPv4 address '10\.0\.2\.300' in net=10\.0\.2\.300\/24$/, '10.0.2.300'],
  ['net=10.0.2.1/24', 'net-host-bits', /^net=10\.0\.2\.1\/24 has host bits set; did you mean 10\.0\.2\.0\/24\?$/, '10.0.2.1/24'],
  ['net=240.0.0.0', 'bad-prefix', /^net=240\.0\.0\.0 needs a prefix length: no classful default for this address$/, '240.0.0.0'],
  ['dhcpstart=10.0.3.15', 'dhcpstart-outside-net', /^dhcpstart=10\.0\.3\.15 is outside the guest network 10\.0\.2\.0\/24: choose an address inside it$/, '10.0.3.15'],
  ['host=10.1.2.2', 'host-outside-net', /^host=10\.1\.2\.2 is outside the guest network 10\.0\.2\.0\/24: choose an address inside it$/, '10.1.2.2'],
  ['dns=10.0.2.255', 'network-or-broadcast', /^dns=10\.0\.2\.255 is the network or broadcast address of 10\.0\.2\.0\/24: choose another$/, '10.0.2.255'],
  ['host=10.0.2.x', 'bad-address', /^host=10\.0\.2\.x is not an IPv4 address$/, '10.0.2.x'],
  ['host=10.0.2.3', 'address-clash', /^host and dns are both 10\.0\.2\.3: they must differ$/, 'host=10.0.2.3'],
  ['dhcpstart=10.0.2.2', 'address-clash', /^dhcpstart 10\.0\.2\.2 is the address of the host: the DHCP pool needs its own addresses$/, 'dhcpstart=10.0.2.2'],
  ['hostname=', 'bad-hostname', /^hostname= must be 1 to 255 characters$/, 'hostname='],
  ['domainname=bad..name', 'bad-domain-name', /^bad domain name 'bad\.\.name' in domainname$/, 'bad..name'],
  ['dnssearch=ok.test,dnssearch=-x y', 'bad-domain-name', /^bad domain name '-x y' in dnssearch$/, '-x y'],
  ['ipv6-net=fec0::/129', 'bad-prefix', /^bad IPv6 prefix length 129 in ipv6-net=fec0::\/129: expected 0-126$/, '129'],
  ['ipv6-net=zz::/64', 'bad-address', /^bad IPv6 address 'zz::' in ipv6-net$/, 'zz::'],
  ['ipv6-host=fec1::2', 'ipv6-outside-net', /^ipv6-host fec1::2 is outside ipv6-net fec0::\/64$/, 'fec1::2'],
  ['ipv6-dns=nope', 'bad-address', /^bad IPv6 address 'nope' in ipv6-dns$/, 'nope'],
  ['ipv6-net=fec0::/64,ipv6-prefix=fec0::', 'conflicting-suboptions', /^ipv6-net and ipv6-prefix cannot both be given$/, 'ipv6-prefix=fec0::'],
  ['ipv6-prefix=fec0::/64', 'bad-prefix', /^ipv6-prefix takes no \/length: use ipv6-prefixlen or ipv6-net$/, 'fec0::/64'],
  ['ipv6-net=fec0::/64,ipv6-prefixlen=64', 'conflicting-suboptions', /^ipv6-prefixlen cannot be combined with ipv6-net$/, 'ipv6-prefixlen=64'],
  ['ipv6-prefixlen=200', 'bad-prefix', /^bad IPv6 prefix length 200 in ipv6-prefixlen: expected 0-126$/, '200'],
  ['hostfwd=tcp:2222:22', 'bad-hostfwd', /^hostfwd host address "2222" is not an IPv4 address or a bracketed IPv6 one \(leave it empty for 127\.0\.0\.1, or write 0\.0\.0\.0 for every interface\)$/, '2222'],
  ['hostfwd=sctp::1-:2', 'bad-hostfwd', /^hostfwd protocol "sctp" is not tcp or udp$/, 'sctp'],
  ['hostfwd=tcp:localhost:1-:2', 'bad-hostfwd', /^hostfwd host address "localhost" is not an IPv4 address or a bracketed IPv6 one \(leave it empty for 127\.0\.0\.1, or write 0\.0\.0\.0 for every interface\)$/, 'localhost'],
  ['hostfwd=tcp::70000-:22', 'bad-hostfwd', /^hostfwd host port "70000" must be a number from 0 to 65535$/, '70000'],
  ['hostfwd=tcp::2222-:0', 'bad-hostfwd', /^hostfwd guest port "0" must be a number from 1 to 65535$/, '0'],
  ['hostfwd=tcp::2222-10.0.2.x:22', 'bad-hostfwd', /^hostfwd guest address "10\.0\.2\.x" is not an IPv4 address or a bracketed IPv6 one \(leave it empty for the DHCP guest\)$/, '10.0.2.x'],
  ['hostfwd=tcp::2222-10.0.3.15:22', 'hostfwd-outside-net', /^hostfwd guest address 10\.0\.3\.15 is outside the guest network 10\.0\.2\.0\/24$/, '10.0.3.15'],
  ['guestfwd=tcp:10.0.2.100:80', 'bad-guestfwd', /^guestfwd=tcp:10\.0\.2\.100:80 has no "-" before its target: write guestfwd=\[tcp\]:server:port-cmd:COMMAND or guestfwd=tcp:10\.0\.2\.100:80-tcp:127\.0\.0\.1:8080$/, 'tcp:10.0.2.100:80'],
  ['guestfwd=udp:10.0.2.100:80-tcp:a:1', 'bad-guestfwd', /^guestfwd forwards tcp only, not "udp"$/, 'udp'],
  ['guestfwd=tcp:10.0.2:80-tcp:a:1', 'bad-guestfwd', /^guestfwd server "10\.0\.2" is not an IPv4 address$/, '10.0.2'],
  ['guestfwd=tcp:10.0.2.100:0-tcp:a:1', 'bad-guestfwd', /^guestfwd port "0" must be a number from 1 to 65535$/, '0'],
  ['guestfwd=tcp:10.0.2.100:80-cmd: ', 'bad-guestfwd', /^guestfwd cmd: needs a command to run$/, 'cmd: '],
  ['guestfwd=tcp:10.0.2.100:80-chardev0', 'bad-guestfwd', /^guestfwd target "chardev0": Usernet forwards to cmd:COMMAND or tcp:HOST:PORT$/, 'chardev0'],
  ['guestfwd=tcp:10.0.2.100:80-tcp:a:99999', 'bad-guestfwd', /^guestfwd target port "99999" must be a number from 1 to 65535$/, '99999'],
  ['guestfwd=tcp:10.0.9.100:80-tcp:a:1', 'guestfwd-outside-net', /^guestfwd server 10\.0\.9\.100 is outside the guest network 10\.0\.2\.0\/24$/, '10.0.9.100'],
  ['guestfwd=tcp:10.0.2.2:80-tcp:a:1', 'bad-guestfwd', /^guestfwd server 10\.0\.2\.2 is the host address: choose a free one$/, '10.0.2.2'],
  ['dns-upstream=resolver.test', 'bad-dns-upstream', /^bad dns-upstream 'resolver\.test': expected addr\[:port\] \(IPv6 as \[addr\]:port\)$/, 'resolver.test'],
  ['dns-upstream=127.0.0.1:0', 'bad-dns-upstream', /^bad dns-upstream '127\.0\.0\.1:0': expected addr\[:port\] \(IPv6 as \[addr\]:port\)$/, '127.0.0.1:0'],
  ['mtu=575', 'bad-mtu', /^bad mtu '575': expected 576-65520 \(1500 is Ethernet's, as libslirp\)$/, '575'],
  ['mtu=65521', 'bad-mtu', /^bad mtu '65521': expected 576-65520 \(1500 is Ethernet's, as libslirp\)$/, '65521'],
  ['mtu=9k', 'bad-mtu', /^bad mtu '9k': expected 576-65520 \(1500 is Ethernet's, as libslirp\)$/, '9k'],
  ['mtu=', 'bad-mtu', /^bad mtu '': expected 576-65520 \(1500 is Ethernet's, as libslirp\)$/, ''],
];

for (const [spec, code, message, covered] of INVALID) {
  test(`rejects ${JSON.stringify(spec)}`, () => {
    const { issues } = readNetdevUser(spec);
    assert.deepEqual(issues.map((i) => i.code), [code], `one issue for ${spec}`);
    const [issue] = issues;
    assert.match(issue!.message, message);
    assert.equal(spec.slice(issue!.start, issue!.end), covered);
    let err: unknown;
    try {
      parseNetdevUser(spec);
    } catch (e) {
      err = e;
    }
    // The CLI and the launch refuse it with the same words and range.
    assert.ok(err instanceof NetdevOptionError, `expected a NetdevOptionError for ${spec}`);
    assert.equal(err.message, issue!.message);
    assert.deepEqual([err.start, err.end], [issue!.start, issue!.end]);
  });
}

test('every mistake of a spec at once, each at its range, the rest of the configuration kept', () => {
  const spec = 'hostfwd=tcp::22x-:22,restrict=maybe,hostname=vm,net=10.0.2.0/33,hostfwd=tcp::8080-:80,guestfwd=udp:10.0.2.9:1-cmd:x';
  const { issues, config, hostForwards } = readNetdevUser(spec);
  assert.deepEqual(issues.map((i) => [i.code, spec.slice(i.start, i.end)]), [
    ['bad-hostfwd', '22x'], ['bad-boolean', 'maybe'], ['bad-prefix', '33'], ['bad-guestfwd', 'udp'],
  ]);
  assert.equal(config.hostname, 'vm');
  assert.deepEqual(config.hostForwards, [{ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 8080, guestAddr: 0, guestPort: 80 }]);
  assert.equal(spec.slice(hostForwards[0]!.hostPortStart, hostForwards[0]!.hostPortEnd), '8080');
});

test('a stray comma is a warning: the spec still runs', () => {
  const { issues, config } = readNetdevUser(',id=a,,b,restrict=on,');
  assert.deepEqual(issues.map((i) => [i.code, i.severity, i.start]), [['empty-suboption', 'warning', 0]]);
  assert.equal(config.id, 'a,b');
  assert.equal(parseNetdevUser(',id=a,,b,restrict=on,').restrict, true);
});

test('the specs that parse have no issue at all', () => {
  for (const spec of ['', 'user', 'user,id=n0,net=10.9.0.0/24,hostfwd=tcp::2222-:22,hostfwd=tcp:[::1]:2223-[fec0::15]:22,guestfwd=tcp::80-cmd:cat', 'restrict,ipv6=off,mtu=9000,smb=/tmp,smbserver=10.0.2.4']) {
    assert.deepEqual(readNetdevUser(spec).issues, [], spec);
  }
});

test('the error range points into the raw spec even after escaped commas', () => {
  const spec = 'hostname=a,,b,restrict=maybe';
  try {
    parseNetdevUser(spec);
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof NetdevOptionError);
    assert.equal(spec.slice(e.start, e.end), 'maybe');
    assert.equal(e.option, 'restrict');
  }
});

test('hostfwd_remove syntax', () => {
  assert.deepEqual(parseHostForwardRemoval('tcp::2222'), { protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 2222 });
  assert.deepEqual(parseHostForwardRemoval('udp:0.0.0.0:53'), { protocol: 'udp', hostAddr: '0.0.0.0', hostPort: 53 });
  assert.throws(() => parseHostForwardRemoval('icmp::1'), /bad protocol 'icmp'/);
  assert.throws(() => parseHostForwardRemoval('tcp:a:b:c'), /expected \[tcp\|udp\]:\[hostaddr\]:hostport/);
});

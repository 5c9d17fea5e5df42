import { formatIpv4 } from '../../../extension/wire/address';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SLIRP_CONFIG, ip4 } from '../../../extension/slirp/config';
import { NetdevOptionError, parseNetdevUser } from '../../../extension/slirp/netdev-options';
import { parseHostForwardRemoval } from '../../../extension/slirp/slirp';

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

/** [spec, message, the text of the spec the error range covers] */
const INVALID: [string, RegExp, string][] = [
  ['user,foo=1', /^unknown option 'foo'$/, 'foo=1'],
  ['id=a,bogus', /^unknown option 'bogus'$/, 'bogus'],
  ['dns', /^option 'dns' needs a value \(dns=\.\.\.\)$/, 'dns'],
  ['dns=10.0.2.3,dns=10.0.2.4', /^option 'dns' is given twice$/, 'dns=10.0.2.4'],
  ['net=10.0.2.0/24,ip=10.0.3.0/24', /^option 'ip' is given twice$/, 'ip=10.0.3.0/24'],
  ['id=', /^option 'id' needs a value$/, 'id='],
  ['=x', /^missing option name before '='$/, '=x'],
  ['restrict=maybe', /^restrict=maybe: expected on or off$/, 'maybe'],
  ['ipv4=off,ipv6=off', /^ipv4 and ipv6 cannot both be off$/, 'ipv6=off'],
  ['net=10.0.2.0/33', /^bad prefix length 33 in net=10\.0\.2\.0\/33$/, '10.0.2.0/33'],
  ['net=10.0.2.0/30', /^bad prefix length 30 in net=10\.0\.2\.0\/30: at most 28 leaves room for host, dns and DHCP$/, '10.0.2.0/30'],
  ['net=10.0.2.0/255.0.255.0', /^bad netmask 255\.0\.255\.0 in net=10\.0\.2\.0\/255\.0\.255\.0$/, '10.0.2.0/255.0.255.0'],
  ['net=10.0.2.300/24', /^bad IPv4 address '10\.0\.2\.300' in net=10\.0\.2\.300\/24$/, '10.0.2.300/24'],
  ['net=10.0.2.1/24', /^net=10\.0\.2\.1\/24 has host bits set; did you mean 10\.0\.2\.0\/24\?$/, '10.0.2.1/24'],
  ['net=240.0.0.0', /^net=240\.0\.0\.0 needs a prefix length: no classful default for this address$/, '240.0.0.0'],
  ['dhcpstart=10.0.3.15', /^dhcpstart 10\.0\.3\.15 is outside net 10\.0\.2\.0\/24$/, '10.0.3.15'],
  ['host=10.1.2.2', /^host 10\.1\.2\.2 is outside net 10\.0\.2\.0\/24$/, '10.1.2.2'],
  ['dns=10.0.2.255', /^dns 10\.0\.2\.255 is the network or broadcast address of net 10\.0\.2\.0\/24$/, '10.0.2.255'],
  ['host=10.0.2.x', /^bad IPv4 address '10\.0\.2\.x' in host$/, '10.0.2.x'],
  ['host=10.0.2.3', /^host and dns are both 10\.0\.2\.3: they must differ$/, 'host=10.0.2.3'],
  ['dhcpstart=10.0.2.2', /^dhcpstart 10\.0\.2\.2 is the address of the host$/, 'dhcpstart=10.0.2.2'],
  ['hostname=', /^hostname must be 1-255 characters$/, ''],
  ['domainname=bad..name', /^bad domain name 'bad\.\.name' in domainname$/, 'bad..name'],
  ['dnssearch=ok.test,dnssearch=-x y', /^bad domain name '-x y' in dnssearch$/, '-x y'],
  ['ipv6-net=fec0::/129', /^bad IPv6 prefix length 129 in ipv6-net=fec0::\/129: expected 0-126$/, 'fec0::/129'],
  ['ipv6-net=zz::/64', /^bad IPv6 address 'zz::' in ipv6-net$/, 'zz::/64'],
  ['ipv6-host=fec1::2', /^ipv6-host fec1::2 is outside ipv6-net fec0::\/64$/, 'fec1::2'],
  ['ipv6-dns=nope', /^bad IPv6 address 'nope' in ipv6-dns$/, 'nope'],
  ['ipv6-net=fec0::/64,ipv6-prefix=fec0::', /^ipv6-net and ipv6-prefix cannot both be given$/, 'ipv6-prefix=fec0::'],
  ['ipv6-prefix=fec0::/64', /^ipv6-prefix takes no \/length: use ipv6-prefixlen or ipv6-net$/, 'fec0::/64'],
  ['ipv6-net=fec0::/64,ipv6-prefixlen=64', /^ipv6-prefixlen cannot be combined with ipv6-net$/, 'ipv6-prefixlen=64'],
  ['ipv6-prefixlen=200', /^bad IPv6 prefix length 200 in ipv6-prefixlen: expected 0-126$/, '200'],
  ['hostfwd=tcp:2222:22', /^bad hostfwd=tcp:2222:22: expected \[tcp\|udp\]:\[hostaddr\]:hostport-\[guestaddr\]:guestport$/, 'tcp:2222:22'],
  ['hostfwd=sctp::1-:2', /^bad protocol 'sctp' in hostfwd=sctp::1-:2: expected tcp or udp$/, 'sctp::1-:2'],
  ['hostfwd=tcp:localhost:1-:2', /^bad host address 'localhost' in hostfwd=tcp:localhost:1-:2$/, 'tcp:localhost:1-:2'],
  ['hostfwd=tcp::70000-:22', /^bad host port '70000' in hostfwd=tcp::70000-:22: expected 0-65535$/, 'tcp::70000-:22'],
  ['hostfwd=tcp::2222-:0', /^bad guest port '0' in hostfwd=tcp::2222-:0: expected 1-65535$/, 'tcp::2222-:0'],
  ['hostfwd=tcp::2222-10.0.2.x:22', /^bad guest address '10\.0\.2\.x' in hostfwd=tcp::2222-10\.0\.2\.x:22$/, 'tcp::2222-10.0.2.x:22'],
  ['hostfwd=tcp::2222-10.0.3.15:22', /^guest address 10\.0\.3\.15 of hostfwd is outside net 10\.0\.2\.0\/24$/, 'tcp::2222-10.0.3.15:22'],
  ['guestfwd=tcp:10.0.2.100:80', /^bad guestfwd=tcp:10\.0\.2\.100:80: expected \[tcp\]:server:port-tcp:host:port or \[tcp\]:server:port-cmd:command$/, 'tcp:10.0.2.100:80'],
  ['guestfwd=udp:10.0.2.100:80-tcp:a:1', /^bad protocol 'udp' in guestfwd=udp:10\.0\.2\.100:80-tcp:a:1: only tcp is supported$/, 'udp:10.0.2.100:80-tcp:a:1'],
  ['guestfwd=tcp:10.0.2:80-tcp:a:1', /^bad server address '10\.0\.2' in guestfwd=/, 'tcp:10.0.2:80-tcp:a:1'],
  ['guestfwd=tcp:10.0.2.100:0-tcp:a:1', /^bad server port '0' in guestfwd=/, 'tcp:10.0.2.100:0-tcp:a:1'],
  ['guestfwd=tcp:10.0.2.100:80-cmd: ', /^empty command in guestfwd=/, 'tcp:10.0.2.100:80-cmd: '],
  ['guestfwd=tcp:10.0.2.100:80-chardev0', /^bad target 'chardev0' in guestfwd=/, 'tcp:10.0.2.100:80-chardev0'],
  ['guestfwd=tcp:10.0.2.100:80-tcp:a:99999', /^bad target port '99999' in guestfwd=/, 'tcp:10.0.2.100:80-tcp:a:99999'],
  ['guestfwd=tcp:10.0.9.100:80-tcp:a:1', /^guestfwd server 10\.0\.9\.100 is outside net 10\.0\.2\.0\/24$/, 'tcp:10.0.9.100:80-tcp:a:1'],
  ['guestfwd=tcp:10.0.2.2:80-tcp:a:1', /^guestfwd server 10\.0\.2\.2 is the address of the host$/, 'tcp:10.0.2.2:80-tcp:a:1'],
  ['dns-upstream=resolver.test', /^bad dns-upstream 'resolver\.test': expected addr\[:port\] \(IPv6 as \[addr\]:port\)$/, 'resolver.test'],
  ['dns-upstream=127.0.0.1:0', /^bad dns-upstream '127\.0\.0\.1:0'/, '127.0.0.1:0'],
  ['mtu=575', /^bad mtu '575': expected 576-65520 \(1500 is Ethernet's, as libslirp\)$/, '575'],
  ['mtu=65521', /^bad mtu '65521': expected 576-65520/, '65521'],
  ['mtu=9k', /^bad mtu '9k': expected 576-65520/, '9k'],
  ['mtu=', /^bad mtu '': expected 576-65520/, ''],
];

for (const [spec, message, covered] of INVALID) {
  test(`rejects ${JSON.stringify(spec)}`, () => {
    let err: unknown;
    try {
      parseNetdevUser(spec);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof NetdevOptionError, `expected a NetdevOptionError for ${spec}`);
    assert.match(err.message, message);
    assert.ok(err.start >= 0 && err.end <= spec.length && err.start <= err.end, 'range inside the spec');
    if (covered !== '') assert.equal(spec.slice(err.start, err.end).replace(/,,/g, ','), covered);
  });
}

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

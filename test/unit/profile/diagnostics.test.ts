import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose, type DiagnoseOptions, type ProfileDiagnostic } from '../../../extension/profile/diagnostics';

const EXISTING = new Set(['/vm/bzImage', '/vm/initrd.img', '/vm/disk.qcow2', '/vm/seed.img', '/home/u/images/a.img']);
const options = (engine: DiagnoseOptions['engine'] = 'qemu'): DiagnoseOptions => ({
  engine, baseDir: '/vm', homeDir: '/home/u', fileExists: (p) => EXISTING.has(p),
});

/** The text a diagnostic's range covers (LSP positions mapped back onto the profile). */
function covered(text: string, d: ProfileDiagnostic): string {
  const lines = text.split('\n');
  const offset = (p: { line: number; character: number }) =>
    lines.slice(0, p.line).reduce((sum, l) => sum + l.length + 1, 0) + p.character;
  return text.slice(offset(d.range.start), offset(d.range.end));
}

function expectOne(text: string, code: string, coveredText: string, engine: DiagnoseOptions['engine'] = 'qemu'): ProfileDiagnostic {
  const all = diagnose(text, options(engine));
  const found = all.filter((d) => d.code === code);
  assert.equal(found.length, 1, `one ${code} in ${text}: got ${JSON.stringify(all.map((d) => [d.code, covered(text, d), d.message]))}`);
  assert.equal(covered(text, found[0]), coveredText, `${code} range in ${text}`);
  assert.equal(found[0].source, 'usernet');
  return found[0];
}

const Q = 'qemu-system-x86_64 -m 1G';
const withUser = (sub: string) => `${Q} -netdev user,id=n0,${sub} -device e1000,netdev=n0`;

test('a clean profile has no diagnostics', () => {
  const text = `${Q} -kernel bzImage -initrd initrd.img -append "console=ttyS0" -netdev user,id=n0,hostfwd=tcp::2222-:22 -device e1000,netdev=n0`;
  assert.deepEqual(diagnose(text, options()), []);
  assert.deepEqual(diagnose(text, options('embedded')), []);
});

test('unknown netdev suboptions, with a suggestion', () => {
  const d = expectOne(withUser('hostfwdd=tcp::22-:22'), 'unknown-netdev-suboption', 'hostfwdd');
  assert.match(d.message, /did you mean hostfwd\?/);
  assert.equal(d.severity, 1);
  expectOne(`${Q} -nic user,modle=e1000`, 'unknown-netdev-suboption', 'modle');
});

test('malformed hostfwd rules: the failing part of the rule', () => {
  expectOne(withUser('hostfwd=tcp::22x-:22'), 'bad-hostfwd', '22x');
  expectOne(withUser('hostfwd=sctp::22-:22'), 'bad-hostfwd', 'sctp');
  expectOne(withUser('hostfwd=tcp::2222:22'), 'bad-hostfwd', 'tcp::2222:22');
  expectOne(withUser('hostfwd=tcp::2222-:0'), 'bad-hostfwd', '0');
  // An empty guest port: the colon it should follow.
  expectOne(withUser('hostfwd=tcp::2222-:'), 'bad-hostfwd', ':');
  expectOne(withUser('hostfwd=tcp::70000-:22'), 'bad-hostfwd', '70000');
  expectOne(withUser('hostfwd=tcp:1.2.3:2222-:22'), 'bad-hostfwd', '1.2.3');
  expectOne(withUser('hostfwd=tcp::2222-10.0.2:22'), 'bad-hostfwd', '10.0.2');
  expectOne(withUser('hostfwd=2222'), 'bad-hostfwd', '2222');
});

test('malformed guestfwd rules', () => {
  expectOne(withUser('guestfwd=udp:10.0.2.100:53-cmd:x'), 'bad-guestfwd', 'udp');
  expectOne(withUser('guestfwd=tcp:10.0.2.100:80-unix:/tmp/s'), 'bad-guestfwd', 'unix:/tmp/s');
  expectOne(withUser('guestfwd=tcp:10.0.2.100:0-cmd:cat'), 'bad-guestfwd', '0');
  expectOne(withUser('guestfwd=tcp:10.0.2.100:80-cmd:'), 'bad-guestfwd', 'cmd:');
  expectOne(withUser('guestfwd=tcp:192.168.1.1:80-cmd:cat'), 'guestfwd-outside-net', '192.168.1.1');
  expectOne(withUser('guestfwd=tcp:10.0.2.2:80-cmd:cat,host=10.0.2.2'), 'bad-guestfwd', '10.0.2.2');
});

test('addresses outside the guest network', () => {
  expectOne(withUser('net=192.168.76.0/24,dhcpstart=10.0.2.15'), 'dhcpstart-outside-net', '10.0.2.15');
  expectOne(withUser('dhcpstart=10.0.3.15'), 'dhcpstart-outside-net', '10.0.3.15');
  expectOne(withUser('net=192.168.76.0/255.255.255.0,host=192.168.77.2'), 'host-outside-net', '192.168.77.2');
  assert.deepEqual(diagnose(withUser('net=192.168.76.0/24,host=192.168.76.2,dns=192.168.76.3,dhcpstart=192.168.76.9'), options()), []);
  expectOne(withUser('net=10.0.2.0/33'), 'bad-prefix', '33');
  expectOne(withUser('dns=10.0.2.300'), 'bad-address', '10.0.2.300');
});

test('other suboption values', () => {
  expectOne(withUser('restrict=maybe'), 'bad-boolean', 'maybe');
  expectOne(withUser('ipv4=off,ipv6=off'), 'no-ip-version', 'ipv6=off');
  expectOne(withUser('hostname=a,hostname=b'), 'duplicate-suboption', 'hostname');
  expectOne(withUser('tftp'), 'suboption-without-value', 'tftp');
});

test('what the slirp refuses shows, at its range', () => {
  const d = expectOne(withUser('host=10.0.2.3'), 'address-clash', 'host=10.0.2.3');
  assert.match(d.message, /host and dns/);
});

test('duplicate host ports across hostfwd rules and netdevs', () => {
  expectOne(withUser('hostfwd=tcp::2222-:22,hostfwd=tcp::2222-:80'), 'duplicate-host-port', '2222');
  const twoNetdevs = `${Q} -netdev user,id=a,hostfwd=tcp::8080-:80 -device e1000,netdev=a -nic user,hostfwd=tcp:0.0.0.0:8080-:8080`;
  const d = expectOne(twoNetdevs, 'duplicate-host-port', '8080');
  assert.ok(covered(twoNetdevs, d) === '8080' && d.range.start.character > twoNetdevs.indexOf('-nic'));
  // Same port, different protocol or different host address: no clash.
  assert.ok(!diagnose(withUser('hostfwd=tcp::53-:53,hostfwd=udp::53-:53'), options()).some((x) => x.code === 'duplicate-host-port'));
  assert.ok(!diagnose(withUser('hostfwd=tcp:127.0.0.1:80-:80,hostfwd=tcp:127.0.0.2:80-:80'), options()).some((x) => x.code === 'duplicate-host-port'));
});

test('netdev ids: unused, missing, duplicated, shared', () => {
  const unused = expectOne(`${Q} -netdev user,id=lonely`, 'unused-netdev', 'lonely');
  assert.equal(unused.severity, 2);
  expectOne(`${Q} -netdev user,id=n0 -device e1000,netdev=n9`, 'missing-netdev', 'n9');
  expectOne(`${Q} -netdev user,id=n0 -netdev user,id=n0 -device e1000,netdev=n0`, 'duplicate-netdev-id', 'n0');
  expectOne(`${Q} -netdev user,id=n0 -device e1000,netdev=n0 -device e1000,netdev=n0`, 'netdev-in-use', 'n0');
  expectOne(`${Q} -device e1000`, 'nic-without-netdev', '-device e1000');
  expectOne(`${Q} -net nic`, 'hub-without-backend', '-net nic');
  expectOne(`${Q} -net user`, 'hub-without-nic', '-net user');
});

test('files that do not exist, relative to the profile\'s folder', () => {
  const text = `${Q} -kernel vmlinuz -initrd /boot/missing -hda disk.qcow2 -drive file=nope.img,if=virtio -cdrom ~/images/b.iso -hdb ~/images/a.img -drive file=nbd:localhost:10809`;
  const found = diagnose(text, options()).filter((d) => d.code === 'file-not-found');
  assert.deepEqual(found.map((d) => covered(text, d)), ['vmlinuz', '/boot/missing', 'nope.img', '~/images/b.iso']);
  assert.match(found[0].message, /kernel not found: vmlinuz .*\/vm\/vmlinuz/);
  assert.match(found[1].message, /^initrd not found/);
  assert.match(found[2].message, /^disk image not found/);
});

test('options the embedded engine cannot run are warnings there and fine under QEMU', () => {
  const text = 'qemu-system-x86_64 -enable-kvm -m 1G -drive file=disk.qcow2,if=virtio -serial file:log -nic user,model=virtio-net-pci -device e1000,netdev=x -netdev user,id=x';
  const embedded = diagnose(text, options('embedded')).filter((d) => d.code === 'engine-unsupported');
  assert.deepEqual(embedded.map((d) => covered(text, d)), [
    '-enable-kvm', '-drive file=disk.qcow2,if=virtio', '-serial file:log', '-nic user,model=virtio-net-pci',
  ]);
  assert.ok(embedded.every((d) => d.severity === 2 && d.message.includes('not supported by the embedded engine (use engine: qemu)')));
  assert.deepEqual(diagnose(text, options('qemu')).filter((d) => d.code === 'engine-unsupported'), []);
  expectOne(`${Q} -daemonize`, 'engine-conflict', '-daemonize');
});

test('an unterminated quote, and ranges across lines', () => {
  const text = `${Q} \\\n  -append "console=ttyS0`;
  const d = expectOne(text, 'unterminated-quote', '"');
  assert.deepEqual(d.range, { start: { line: 1, character: 10 }, end: { line: 1, character: 11 } });

  const multi = `qemu-system-x86_64 \\\n  -netdev 'user,id=n0,'\\\n"hostfwd=tcp::22x-:22" -device e1000,netdev=n0`;
  const bad = expectOne(multi, 'bad-hostfwd', '22x');
  assert.deepEqual(bad.range, { start: { line: 2, character: 14 }, end: { line: 2, character: 17 } });
});

test('the engine directive must name an engine', () => {
  expectOne(`# usernet: engine=kvm\n${Q}`, 'unknown-engine', 'kvm');
});

test('diagnostics come sorted by position', () => {
  const text = `${Q} -bogus -netdev user,id=n0,nope=1 -kernel missing`;
  const all = diagnose(text, options());
  const starts = all.map((d) => d.range.start.character);
  assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
  assert.deepEqual(all.map((d) => d.code), ['unknown-option', 'unused-netdev', 'unknown-netdev-suboption', 'file-not-found']);
});

test('netem directives: a bad rule at its column inside the comment, a bad seed, an unknown directive', () => {
  assert.deepEqual(diagnose(`# usernet: netem=tcp_input: loss 5%\n# usernet: netem-seed=7\n${Q}`, options()), []);
  const rule = expectOne(`# usernet: netem=tcp_input: los 5%\n${Q}`, 'bad-netem-rule', 'los');
  assert.match(rule.message, /^netem: /);
  assert.deepEqual(rule.range.start, { line: 0, character: 28 });
  expectOne(`#usernet:netem= tcp_inptu: loss 5%\n${Q}`, 'bad-netem-rule', 'tcp_inptu');
  expectOne(`# usernet: netem=tcp_input if tcp.port == : loss 5%\n${Q}`, 'bad-netem-rule', ':');
  expectOne(`# usernet: netem=sosend: loss 5%\n${Q}`, 'bad-netem-rule', 'sosend');
  expectOne(`# usernet: netem-seed=-3\n${Q}`, 'bad-netem-seed', '-3');
  expectOne(`# usernet: netem-seed=1\n# usernet: netem-seed=2\n${Q}`, 'duplicate-netem-seed', '2');
  const unknown = expectOne(`# usernet: netme=tcp_input: loss 5%\n${Q}`, 'unknown-directive', 'netme');
  assert.equal(unknown.severity, 2);
  // After the command a comment is only a comment.
  assert.deepEqual(diagnose(`${Q}\n# usernet: netem=nonsense`, options()), []);
});

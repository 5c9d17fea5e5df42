import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProfile } from '../../../extension/profile/parser';
import type { NetworkPlan } from '../../../extension/profile/plan';

const BASE = 'qemu-system-x86_64 -m 512 -nographic -kernel bzImage -initrd initrd.img -append "console=ttyS0"';
const SEED_FORMS: Array<[NetworkPlan['source'], string]> = [
  ['default', BASE],
  ['net', `${BASE} -net nic -net user`],
  ['netdev', `${BASE} -netdev user,id=user.0 -device e1000,netdev=user.0`],
];

const withoutSource = (plan: NetworkPlan) => {
  const { source, ...rest } = plan;
  return { rest, source };
};

test('the seed\'s three network forms give the same NetworkPlan', () => {
  const plans = SEED_FORMS.map(([, line]) => parseProfile(line));
  for (const [i, [source]] of SEED_FORMS.entries()) {
    assert.deepEqual(plans[i].problems, [], `no problems for ${source}`);
    assert.equal(plans[i].plan.network.source, source);
    assert.deepEqual(withoutSource(plans[i].plan.network).rest, { nicModel: 'e1000', netdevId: 'user.0', userOptions: '' });
  }
});

test('a command line table: what each option becomes', () => {
  type Expect = Partial<Record<string, unknown>>;
  const table: Array<[string, Expect]> = [
    [
      'qemu-system-x86_64 -enable-kvm -cpu host -m 1G -nographic -hda debian-12-genericcloud-amd64.qcow2 -drive file=seed.img,format=raw,if=virtio',
      {
        program: 'qemu-system-x86_64', accel: 'kvm', enableKvm: true, cpu: 'host', memoryMiB: 1024, nographic: true,
        drives: [
          { file: 'debian-12-genericcloud-amd64.qcow2', if: 'ide', index: 0, media: 'disk', format: undefined, origin: '-hda' },
          { file: 'seed.img', if: 'virtio', format: 'raw', media: undefined, index: undefined, origin: '-drive' },
        ],
        network: { source: 'default', nicModel: 'e1000', netdevId: 'user.0', userOptions: '' },
      },
    ],
    [
      BASE,
      { kernel: 'bzImage', initrd: 'initrd.img', append: 'console=ttyS0', memoryMiB: 512, accel: undefined, enableKvm: false, serial: [] },
    ],
    ['qemu-system-i386 -m size=2G,slots=2,maxmem=4G -smp 4 -name guest=vm1,debug-threads=on', { memoryMiB: 2048, smp: 4, name: 'vm1' }],
    ['qemu-system-x86_64 -m 65536K -smp sockets=1,cores=2,threads=2 -name plain', { memoryMiB: 64, smp: 4, name: 'plain' }],
    ['qemu-system-x86_64 -m 1.5G -accel tcg,thread=multi', { memoryMiB: 1536, accel: 'tcg', enableKvm: false }],
    ['qemu-system-x86_64 -machine q35,accel=kvm:tcg', { accel: 'kvm' }],
    ['qemu-system-x86_64 -serial mon:stdio -serial file:log.txt', { serial: ['mon:stdio', 'file:log.txt'] }],
    ['qemu-system-x86_64 -cdrom alpine.iso --m 256', { memoryMiB: 256 }],
    ['qemu-system-x86_64 disk.img', { network: { source: 'default', nicModel: 'e1000', netdevId: 'user.0', userOptions: '' } }],
  ];
  for (const [line, expected] of table) {
    const { plan, problems } = parseProfile(line);
    assert.deepEqual(problems, [], line);
    for (const [key, value] of Object.entries(expected)) {
      let actual: unknown = (plan as unknown as Record<string, unknown>)[key];
      if (key === 'drives') actual = plan.drives.map(({ file, if: iface, format, media, index, origin }) => ({ file, if: iface, format, media, index, origin }));
      assert.deepEqual(actual, value, `${key} of ${line}`);
    }
  }
});

test('a bare word is the first hard disk, and paths are recorded with their ranges', () => {
  const line = 'qemu-system-x86_64 disk.img -kernel "my kernel" -drive file=a,,b.img,if=ide';
  const { plan } = parseProfile(line);
  assert.deepEqual(plan.drives.map((d) => [d.file, d.origin]), [['disk.img', 'bare'], ['a,b.img', '-drive']]);
  assert.deepEqual(plan.files.map((f) => [f.role, f.path, line.slice(f.start, f.end)]), [
    ['drive', 'disk.img', 'disk.img'],
    ['kernel', 'my kernel', 'my kernel'],
    ['drive', 'a,b.img', 'a,,b.img'],
  ]);
});

test('hostfwd variants keep their text for the slirp', () => {
  const cases: Array<[string, string]> = [
    ['-netdev user,id=n0,hostfwd=tcp::2222-:22 -device e1000,netdev=n0', 'hostfwd=tcp::2222-:22'],
    ['-netdev user,id=n0,hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22,hostfwd=udp::5353-:53 -device e1000,netdev=n0', 'hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22,hostfwd=udp::5353-:53'],
    ['-net nic -net user,hostfwd=tcp::8080-:80,restrict=on', 'hostfwd=tcp::8080-:80,restrict=on'],
    ["-nic 'user,model=e1000,hostfwd=tcp::2222-:22,guestfwd=tcp:10.0.2.100:80-cmd:nc 127.0.0.1 8080'", 'hostfwd=tcp::2222-:22,guestfwd=tcp:10.0.2.100:80-cmd:nc 127.0.0.1 8080'],
    ['-netdev user,id=n0,tftp=/srv/a,,b,bootfile=pxe -device e1000,netdev=n0', 'tftp=/srv/a,,b,bootfile=pxe'],
  ];
  for (const [args, options] of cases) {
    const { plan, problems } = parseProfile(`qemu-system-x86_64 ${args}`);
    assert.deepEqual(problems, [], args);
    assert.notEqual(plan.network.source, 'none');
    if (plan.network.source !== 'none') assert.equal(plan.network.userOptions, options, args);
  }
});

test('the option string maps back to its source characters', () => {
  const text = `qemu-system-x86_64 -netdev 'user,id=n0,'\\\n"hostfwd=tcp::2222-:22" -device e1000,netdev=n0`;
  const { plan } = parseProfile(text);
  const netdev = plan.netdevs[0];
  assert.equal(netdev.options, 'hostfwd=tcp::2222-:22');
  assert.equal(netdev.options.split('').map((_, i) => text[netdev.optionSourceOffsets[i]]).join(''), 'hostfwd=tcp::2222-:22');
});

test('-nic forms and disabling the network', () => {
  const nic = parseProfile('qemu-system-x86_64 -nic user,model=virtio-net-pci,mac=52:54:00:12:34:99,hostfwd=tcp::2222-:22');
  assert.deepEqual(nic.plan.network, {
    source: 'nic', nicModel: 'virtio-net-pci', mac: '52:54:00:12:34:99', netdevId: 'user.0', userOptions: 'hostfwd=tcp::2222-:22',
  });
  assert.deepEqual(parseProfile('qemu-system-x86_64 -nic user').plan.network, { source: 'nic', nicModel: 'e1000', netdevId: 'user.0', userOptions: '' });
  assert.equal((parseProfile('qemu-system-x86_64 -nic user,model=virtio').plan.network as { nicModel: string }).nicModel, 'virtio-net-pci');
  assert.deepEqual(parseProfile('qemu-system-x86_64 -nic none').plan.network, { source: 'none' });
  assert.deepEqual(parseProfile('qemu-system-x86_64 -net none').plan.network, { source: 'none' });
  assert.deepEqual(parseProfile('qemu-system-x86_64 -nodefaults').plan.network, { source: 'none' });
  // -net none only drops the default NIC: an explicit one still counts.
  const explicit = parseProfile('qemu-system-x86_64 -net none -netdev user,id=n0 -device e1000-82545em,netdev=n0,mac=52:54:00:00:00:01');
  assert.deepEqual(explicit.plan.network, { source: 'netdev', nicModel: 'e1000-82545em', mac: '52:54:00:00:00:01', netdevId: 'n0', userOptions: '' });
  assert.deepEqual(explicit.plan.nics.map((n) => [n.model, n.netdev, n.form]), [['e1000-82545em', 'n0', 'device']]);
  assert.deepEqual(explicit.plan.netdevs.map((n) => [n.id, n.type, n.form]), [['n0', 'user', 'netdev']]);
  const net = parseProfile('qemu-system-x86_64 -net nic,model=e1000,macaddr=52:54:00:00:00:02 -net user,hostfwd=tcp::22-:22');
  assert.deepEqual(net.plan.network, { source: 'net', nicModel: 'e1000', mac: '52:54:00:00:00:02', netdevId: 'user.0', userOptions: 'hostfwd=tcp::22-:22' });
});

test('options the plan does not model pass through, marked', () => {
  const { plan, problems } = parseProfile('qemu-system-x86_64 -m 512 -vga std -boot d -device virtio-rng-pci -usb -netdev tap,id=t0 -device e1000,netdev=t0');
  assert.deepEqual(problems, []);
  assert.deepEqual(plan.passthrough.map((p) => [p.words, p.knownToQemu]), [
    [['-vga', 'std'], true], [['-boot', 'd'], true], [['-device', 'virtio-rng-pci'], true], [['-usb'], true], [['-netdev', 'tap,id=t0'], true],
  ]);
  assert.ok(plan.passthrough.every((p) => /embedded engine/.test(p.note)));
  assert.deepEqual(plan.network, { source: 'none' });
});

test('quoting, continuations and comments give the same plan as one plain line', () => {
  const plain = parseProfile('qemu-system-x86_64 -m 1G -append console=ttyS0 -netdev user,id=n0,hostfwd=tcp::2222-:22 -device e1000,netdev=n0').plan;
  const fancy = parseProfile([
    '# usernet: engine=qemu',
    '# a VM with ssh forwarded',
    'qemu-system-x86_64 \\',
    '  -m "1G" \\',
    "  -append 'console=ttyS0' # serial console",
    '  -netdev user,id=n0,"hostfwd=tcp::2222-:22" \\',
    '  -device e1000,netdev=n0',
  ].join('\n')).plan;
  assert.deepEqual([fancy.memoryMiB, fancy.append, fancy.network], [plain.memoryMiB, plain.append, plain.network]);
});

test('parse problems point at the exact token', () => {
  const cases: Array<[string, string, string]> = [
    // [profile, problem code, text the range covers]
    ['qemu-system-x86_64 -enable-kmv', 'unknown-option', '-enable-kmv'],
    ['qemu-system-x86_64 -m', 'missing-argument', '-m'],
    ['qemu-system-x86_64 -m 1Q', 'bad-memory-size', '1Q'],
    ['qemu-system-x86_64 -m size=lots,slots=2', 'bad-memory-size', 'lots'],
    ['qemu-system-x86_64 -smp many', 'bad-smp', 'many'],
    ['qemu-system-x86_64 -drive file=a.img,if=usb', 'drive-bad-if', 'usb'],
    ['qemu-system-x86_64 -drive file=a.img,media=tape', 'drive-bad-media', 'tape'],
    ['qemu-system-x86_64 -drive a.img', 'drive-bare-item', 'a.img'],
    ['qemu-system-x86_64 -netdev user', 'netdev-missing-id', 'user'],
    ['qemu-system-x86_64 -netdev usr,id=x', 'netdev-unknown-type', 'usr'],
    ['qemu-system-x86_64 -net nick', 'net-unknown-kind', 'nick'],
    ['qemu-system-x86_64 -nic usre', 'nic-unknown-type', 'usre'],
    ['qemu-system-x86_64 -nic user,mac=52:54:00:12:34', 'bad-mac', '52:54:00:12:34'],
    ['qemu-system-x86_64 -device e1000,mac=01:00:5e:00:00:01,netdev=n -netdev user,id=n', 'bad-mac', '01:00:5e:00:00:01'],
    ['qemu-system-x86_64 -kernel $HOME/bzImage', 'shell-expansion', '$'],
    ['sudo -m 1G', 'unknown-program', 'sudo'],
  ];
  for (const [text, code, covered] of cases) {
    const { problems } = parseProfile(text);
    const problem = problems.find((p) => p.code === code);
    assert.ok(problem, `${code} in ${text}: got ${JSON.stringify(problems.map((p) => p.code))}`);
    assert.equal(text.slice(problem.start, problem.end), covered, `${code} range in ${text}`);
    assert.deepEqual(problem.range, { start: { line: 0, character: problem.start }, end: { line: 0, character: problem.end } });
  }
});

test('an unknown option takes its likely argument with it: one diagnostic, not two', () => {
  const { problems, plan } = parseProfile('qemu-system-x86_64 -frobnicate 3 -m 1G');
  assert.deepEqual(problems.map((p) => p.code), ['unknown-option']);
  assert.equal(plan.memoryMiB, 1024);
  assert.deepEqual(plan.passthrough.map((p) => [p.words, p.knownToQemu]), [[['-frobnicate', '3'], false]]);
});

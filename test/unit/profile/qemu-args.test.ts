import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProfile } from '../../../extension/profile/parser';
import { buildQemuArgv, type QemuArgvOptions } from '../../../extension/profile/qemu-args';

const SOCKETS = { netdevSocket: '/run/u/net.sock', serialSocket: '/run/u/serial.sock', qmpSocket: '/run/u/qmp.sock' };
const argv = (text: string, kvmUsable = true, extra: Partial<QemuArgvOptions> = {}) =>
  buildQemuArgv(parseProfile(text).plan, { ...SOCKETS, kvmUsable, ...extra });

const STREAM = 'stream,id=user.0,server=off,addr.type=unix,addr.path=/run/u/net.sock';
const SERIAL = ['-chardev', 'socket,id=ser0,path=/run/u/serial.sock,server=on,wait=off', '-serial', 'chardev:ser0'];
const QMP = ['-qmp', 'unix:/run/u/qmp.sock,server=on,wait=off'];
const HEADLESS = ['-display', 'none', '-monitor', 'none', '-parallel', 'none'];

test('the cloud image with its cloud-init seed goes through, network and console rewired', () => {
  const result = argv('qemu-system-x86_64 -enable-kvm -cpu host -m 1G -nographic -hda debian-12-genericcloud-amd64.qcow2 -drive file=seed.img,format=raw,if=virtio');
  assert.equal(result.program, 'qemu-system-x86_64');
  assert.equal(result.accelerator, 'kvm');
  assert.deepEqual(result.args, [
    '-enable-kvm', ...SERIAL,
    '-cpu', 'host', '-m', '1G',
    '-hda', 'debian-12-genericcloud-amd64.qcow2', '-drive', 'file=seed.img,format=raw,if=virtio',
    '-netdev', STREAM, '-device', 'e1000,netdev=user.0',
    ...HEADLESS, ...QMP,
  ]);
  assert.deepEqual(result.userNetwork, { id: 'user.0', options: '', nicModel: 'e1000' });
  assert.deepEqual(result.warnings, []);
});

test('without usable /dev/kvm: TCG, -cpu host becomes max, and a warning says it is slower', () => {
  const result = argv('qemu-system-x86_64 -enable-kvm -cpu host -m 1G', false);
  assert.equal(result.accelerator, 'tcg');
  assert.deepEqual(result.args.slice(0, 2), ['-accel', 'tcg']);
  assert.ok(!result.args.includes('-enable-kvm'));
  assert.deepEqual(result.args.slice(result.args.indexOf('-cpu'), result.args.indexOf('-cpu') + 2), ['-cpu', 'max']);
  assert.ok(result.warnings.some((w) => /TCG/.test(w) && /slower/.test(w)));
  // No accelerator named: KVM when usable, with the host CPU.
  assert.deepEqual(argv('qemu-system-x86_64 -m 512').args.slice(0, 3), ['-enable-kvm', '-cpu', 'host']);
  assert.deepEqual(argv('qemu-system-x86_64 -m 512', false).args.slice(0, 2), ['-accel', 'tcg']);
});

test('-enable-kvm -cpu host with an unusable KVM: one message, the true reason and what runs instead', () => {
  const failed = argv('qemu-system-x86_64 -enable-kvm -cpu host -m 1G', false, { kvmFailure: 'error: failed to set MSR 0x10a to 0x69' });
  assert.deepEqual(failed.warnings, [
    'KVM was asked for but /dev/kvm opened but QEMU could not use it (error: failed to set MSR 0x10a to 0x69): running under TCG emulation, which is many times slower, with -cpu max for -cpu host (it needs KVM)',
  ]);
  assert.doesNotMatch(failed.warnings[0]!, /not usable/, 'no claim that contradicts the reason');
  assert.deepEqual(failed.args.slice(failed.args.indexOf('-cpu'), failed.args.indexOf('-cpu') + 2), ['-cpu', 'max']);
  // No /dev/kvm at all: the same one message with that reason.
  assert.deepEqual(argv('qemu-system-x86_64 -enable-kvm -cpu host', false).warnings, [
    'KVM was asked for but /dev/kvm is not usable (missing, or no read/write access: join the kvm group): running under TCG emulation, which is many times slower, with -cpu max for -cpu host (it needs KVM)',
  ]);
  // TCG chosen by the profile: only the CPU is said.
  assert.deepEqual(argv('qemu-system-x86_64 -accel tcg -cpu host').warnings, ['-cpu host needs KVM: using -cpu max under TCG']);
  assert.deepEqual(argv('qemu-system-x86_64 -enable-kvm -cpu host').warnings, [], 'KVM works: nothing to say');
});

test('an explicit TCG choice is respected even where KVM is usable', () => {
  const result = argv('qemu-system-x86_64 -accel tcg,thread=multi -cpu qemu64', true);
  assert.equal(result.accelerator, 'tcg');
  assert.ok(!result.args.includes('-enable-kvm'));
  assert.deepEqual(result.args.filter((a) => a.startsWith('tcg')), ['tcg,thread=multi']);
  assert.deepEqual(result.warnings, []);
  // A machine's accel= is ours to set.
  const machine = argv('qemu-system-x86_64 -machine q35,accel=kvm', false);
  assert.deepEqual(machine.args.slice(machine.args.indexOf('-machine'), machine.args.indexOf('-machine') + 2), ['-machine', 'q35']);
});

test('the three seed forms all become one stream netdev and an e1000', () => {
  const forms = [
    'qemu-system-x86_64 -m 512',
    'qemu-system-x86_64 -m 512 -net nic -net user',
    'qemu-system-x86_64 -m 512 -netdev user,id=user.0 -device e1000,netdev=user.0',
  ];
  for (const form of forms) {
    const { args, userNetwork } = argv(form);
    const network = args.slice(args.indexOf('-netdev'), args.indexOf('-netdev') + 4);
    assert.deepEqual(network, ['-netdev', STREAM, '-device', 'e1000,netdev=user.0'], form);
    assert.equal(args.filter((a) => a === '-netdev').length, 1, form);
    assert.ok(!args.some((a) => a === '-net' || a.startsWith('user')), form);
    assert.deepEqual(userNetwork, { id: 'user.0', options: '', nicModel: 'e1000' });
  }
});

test('-netdev user keeps its id and device; the user options go to our slirp', () => {
  const { args, userNetwork } = argv('qemu-system-x86_64 -netdev user,id=n0,hostfwd=tcp::2222-:22,dns=10.0.2.3 -device virtio-net-pci,netdev=n0,mac=52:54:00:aa:bb:cc');
  assert.deepEqual(args.slice(args.indexOf('-netdev'), args.indexOf('-netdev') + 4), [
    '-netdev', 'stream,id=n0,server=off,addr.type=unix,addr.path=/run/u/net.sock',
    '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:aa:bb:cc',
  ]);
  assert.deepEqual(userNetwork, { id: 'n0', options: 'hostfwd=tcp::2222-:22,dns=10.0.2.3', nicModel: 'virtio-net-pci', mac: '52:54:00:aa:bb:cc' });
});

test('-nic user and -net nic,model= become a stream netdev plus the matching device', () => {
  const nic = argv('qemu-system-x86_64 -nic user,model=virtio,mac=52:54:00:00:00:09,hostfwd=tcp::2222-:22 -m 1G');
  assert.deepEqual(nic.args.slice(nic.args.indexOf('-netdev'), nic.args.indexOf('-netdev') + 6), [
    '-netdev', STREAM, '-device', 'virtio-net-pci,netdev=user.0,mac=52:54:00:00:00:09', '-m', '1G',
  ]);
  assert.equal(nic.userNetwork?.options, 'hostfwd=tcp::2222-:22');
  const net = argv('qemu-system-x86_64 -net nic,model=e1000-82545em,macaddr=52:54:00:00:00:0a -net user,restrict=on');
  assert.deepEqual(net.args.slice(net.args.indexOf('-netdev'), net.args.indexOf('-netdev') + 4), [
    '-netdev', STREAM, '-device', 'e1000-82545em,netdev=user.0,mac=52:54:00:00:00:0a',
  ]);
  assert.equal(net.userNetwork?.options, 'restrict=on');
});

test('-net none / -nic none stay, with no user network', () => {
  for (const line of ['qemu-system-x86_64 -net none', 'qemu-system-x86_64 -nic none']) {
    const { args, userNetwork } = argv(line);
    assert.equal(userNetwork, undefined);
    assert.ok(!args.includes('-netdev'));
    assert.deepEqual(args.slice(args.indexOf(line.split(' ')[1]), args.indexOf(line.split(' ')[1]) + 2), line.split(' ').slice(1));
  }
});

test('non-user backends pass through; unused user netdevs and extra user networks are left out', () => {
  const tap = argv('qemu-system-x86_64 -netdev tap,id=t0,script=no -device e1000,netdev=t0');
  assert.deepEqual(tap.args.slice(tap.args.indexOf('-netdev'), tap.args.indexOf('-netdev') + 4), ['-netdev', 'tap,id=t0,script=no', '-device', 'e1000,netdev=t0']);
  assert.equal(tap.userNetwork, undefined);

  const two = argv('qemu-system-x86_64 -netdev user,id=a -device e1000,netdev=a -netdev user,id=b -device e1000,netdev=b -netdev user,id=c');
  assert.deepEqual(two.args.filter((a, i) => two.args[i - 1] === '-netdev' || two.args[i - 1] === '-device'), [
    'stream,id=a,server=off,addr.type=unix,addr.path=/run/u/net.sock', 'e1000,netdev=a',
  ]);
  assert.equal(two.warnings.filter((w) => /left out/.test(w)).length, 2);
});

test('serial: our socket is COM1, stdio consoles are dropped, others follow', () => {
  const { args } = argv('qemu-system-x86_64 -serial mon:stdio -serial file:com2.log -nographic');
  assert.deepEqual(args.filter((a, i) => args[i - 1] === '-serial'), ['chardev:ser0', 'file:com2.log']);
  assert.ok(!args.includes('-nographic'));
  assert.deepEqual(args.slice(-8), [...HEADLESS, ...QMP]);
  // Without -nographic the user's display stays as it was.
  const windowed = argv('qemu-system-x86_64 -m 1G').args;
  assert.ok(!windowed.includes('-display'));
  // -nographic with the user's own monitor keeps it.
  const own = argv('qemu-system-x86_64 -nographic -monitor telnet::4444,server=on,wait=off').args;
  assert.deepEqual(own.filter((a, i) => own[i - 1] === '-monitor'), ['telnet::4444,server=on,wait=off']);
});

test('socket paths with commas are escaped; the program and -daemonize', () => {
  const result = argv('/opt/qemu/bin/qemu-system-x86_64 -daemonize -m 1G', true, { qmpSocket: '/tmp/a,b/qmp.sock' });
  assert.equal(result.program, '/opt/qemu/bin/qemu-system-x86_64');
  assert.ok(result.args.includes('unix:/tmp/a,,b/qmp.sock,server=on,wait=off'));
  assert.ok(!result.args.includes('-daemonize'));
  assert.ok(result.warnings.some((w) => /-daemonize/.test(w)));
  assert.equal(argv('-m 1G').program, 'qemu-system-x86_64');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argvToProfileText, wordIndexAt } from '../../../extension/machine/argv-text';
import { LaunchPlanError, planRun, qemuWordsFromFlags, type EngineStart, type QemuStart, type RunRequest } from '../../../extension/machine/launch-plan';
import { parseProfile } from '../../../extension/profile';

const BUNDLED = { bzImage: '/pkg/media/guest/bzImage', initrd: '/pkg/media/guest/initramfs.cpio.gz' };
const SOCKETS = { net: '/run/u/net.sock', serial: '/run/u/serial.sock', qmp: '/run/u/qmp.sock' };
const EXISTING = new Set([...Object.values(BUNDLED), '/vm/cloud.img', '/vm/seed.img', '/vm/my-kernel']);

function request(extra: Partial<RunRequest> = {}): RunRequest {
  return { cwd: '/vm', homeDir: '/home/u', fileExists: (p) => EXISTING.has(p), bundled: BUNDLED, ...extra };
}
const profile = (text: string, file = '/vm/guest.qemu') => request({ profile: { file, text } });
const qemu = (start: EngineStart): QemuStart => {
  assert.equal(start.engine, 'qemu');
  return start as QemuStart;
};
const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof LaunchPlanError, `expected a LaunchPlanError, got ${e}`);
    return e.problems;
  }
  assert.fail('no error');
};

test('engine choice: --engine, else the profile directive, else embedded', () => {
  assert.equal(planRun(request()).engine, 'embedded');
  assert.equal(planRun(request({ engine: 'qemu' })).engine, 'qemu');
  const directed = '# usernet: engine=qemu\n-m 128';
  assert.equal(planRun(profile(directed)).engine, 'qemu');
  assert.equal(planRun({ ...profile(directed), engine: 'embedded' }).engine, 'embedded');
  assert.equal(planRun(profile('-m 128')).engine, 'embedded');
});

test('the bundled guest under QEMU: kernel, initrd, console append, 128 MiB, e1000 on our slirp, serial and QMP on sockets', () => {
  const start = qemu(planRun(request({ engine: 'qemu' })));
  assert.equal(start.program, 'qemu-system-x86_64');
  assert.equal(start.bundledGuest, true);
  assert.equal(start.slirp?.id, 'net0');
  assert.equal(start.slirp?.mtu, 9000, 'the bundled guest gets the jumbo link');
  assert.equal(qemu(planRun(request({ engine: 'qemu', flags: { netdev: 'user,mtu=1500' } }))).slirp?.mtu, 1500, 'mtu= wins');
  const tcg = start.buildArgs(SOCKETS, { kvm: false }).args;
  const pair = (name: string) => tcg[tcg.indexOf(name) + 1];
  assert.equal(pair('-kernel'), BUNDLED.bzImage);
  assert.equal(pair('-initrd'), BUNDLED.initrd);
  assert.equal(pair('-append'), 'console=ttyS0 quiet');
  assert.equal(pair('-m'), '128');
  assert.equal(pair('-accel'), 'tcg');
  assert.ok(!tcg.includes('-enable-kvm'));
  assert.equal(pair('-netdev'), `stream,id=net0,server=off,addr.type=unix,addr.path=${SOCKETS.net}`);
  assert.equal(pair('-device'), 'e1000,netdev=net0');
  assert.equal(pair('-chardev'), `socket,id=ser0,path=${SOCKETS.serial},server=on,wait=off`);
  assert.equal(pair('-qmp'), `unix:${SOCKETS.qmp},server=on,wait=off`);
  assert.equal(pair('-display'), 'none');
  assert.ok(!tcg.some((w) => w.startsWith('user')), 'no -netdev user is left for QEMU');
  const kvm = start.buildArgs(SOCKETS, { kvm: true }).args;
  assert.ok(kvm.includes('-enable-kvm'));
  assert.equal(kvm[kvm.indexOf('-cpu') + 1], 'host');
  assert.match(start.buildArgs(SOCKETS, { kvm: false }).warnings.join('\n'), /TCG.*slower/);
});

test('CLI machine options become QEMU words: netdev options kept, id ours, NIC model and MAC', () => {
  const words = qemuWordsFromFlags({ netdev: 'user,id=mine,hostfwd=tcp::2222-:22', nic: 'virtio', mac: '52:54:00:aa:bb:cc', memoryMiB: 256 }, BUNDLED);
  assert.deepEqual(words.slice(words.indexOf('-netdev'), words.indexOf('-netdev') + 4), ['-netdev', 'user,id=net0,hostfwd=tcp::2222-:22', '-device', 'virtio-net-pci,netdev=net0,mac=52:54:00:aa:bb:cc']);
  assert.equal(words[words.indexOf('-m') + 1], '256');
  const own = qemuWordsFromFlags({ kernel: '/vm/my-kernel' }, BUNDLED);
  assert.ok(!own.includes('-initrd'), 'a kernel of your own comes without the bundled initrd');
  assert.ok(qemuWordsFromFlags({ nic: 'none' }, BUNDLED).join(' ').includes('-nic none'));
  assert.match(problems(() => qemuWordsFromFlags({ netdev: 'tap,ifname=x' }, BUNDLED))[0]!, /'tap' is not a user-mode network/);
});

test('a cloud image with a cloud-init seed passes through unchanged; relative paths start at the profile folder', () => {
  const start = qemu(planRun(profile('# usernet: engine=qemu\nqemu-system-x86_64 -m 1G -smp 2 -hda cloud.img -drive file=seed.img,format=raw -nic user,hostfwd=tcp::2222-:22')));
  assert.equal(start.cwd, '/vm');
  assert.equal(start.kvm, undefined, 'no accelerator named: KVM is tried where usable');
  assert.equal(qemu(planRun(profile('# usernet: engine=qemu\n-accel tcg -hda cloud.img'))).kvm, false);
  assert.equal(start.bundledGuest, false);
  assert.equal(start.slirp?.mtu, 1500, "a guest that is not ours gets libslirp's lease (no MTU option)");
  assert.equal(qemu(planRun(profile('# usernet: engine=qemu\n-hda cloud.img -nic user,mtu=9000'))).slirp?.mtu, 9000, 'a jumbo link for anyone who asks');
  assert.deepEqual(start.notes, []);
  const args = start.buildArgs(SOCKETS, { kvm: false }).args;
  const at = args.indexOf('-hda');
  assert.deepEqual(args.slice(at, at + 4), ['-hda', 'cloud.img', '-drive', 'file=seed.img,format=raw']);
  assert.ok(args.includes('-smp'));
  assert.deepEqual(start.slirp?.hostForwards.map((f) => [f.protocol, f.hostPort, f.guestPort]), [['tcp', 2222, 22]]);
});

test('a QEMU profile with nothing to boot boots the bundled guest, and says so', () => {
  const start = qemu(planRun(profile('# usernet: engine=qemu\n-m 256 -netdev user,id=u0 -device e1000,netdev=u0')));
  assert.equal(start.bundledGuest, true);
  assert.match(start.notes.join('\n'), /booting the bundled guest/);
  const args = start.buildArgs(SOCKETS, { kvm: false }).args;
  assert.equal(args[args.indexOf('-kernel') + 1], BUNDLED.bzImage);
  assert.equal(args[args.indexOf('-m') + 1], '256');
});

test('the QEMU binary: --qemu, then $USERNET_QEMU, then the profile, then qemu-system-x86_64', () => {
  const text = '# usernet: engine=qemu\n/opt/q/qemu-system-x86_64 -m 128';
  assert.equal(qemu(planRun(profile(text))).program, '/opt/q/qemu-system-x86_64');
  assert.equal(qemu(planRun({ ...profile(text), envQemu: '/env/qemu' })).program, '/env/qemu');
  assert.equal(qemu(planRun({ ...profile(text), envQemu: '/env/qemu', qemuPath: '/flag/qemu' })).program, '/flag/qemu');
});

test('profile errors abort with file:line:col, all of them at once', () => {
  const text = '# usernet: engine=qemu\nqemu-system-x86_64 -m 128 \\\n  -kernel missing-kernel -frobnicate\n';
  const list = problems(() => planRun(profile(text)));
  assert.equal(list.length, 2, list.join('\n'));
  assert.match(list[0]!, /^\/vm\/guest\.qemu:3:11: error: kernel not found: missing-kernel/);
  assert.match(list[1]!, /^\/vm\/guest\.qemu:3:26: error: unknown option -frobnicate/);
  assert.match(problems(() => planRun(profile('# usernet: engine=vbox\n-m 1')))[0]!, /guest\.qemu:1:\d+: error: unknown engine "vbox"/);
});

test('the embedded engine names each option it cannot run, as errors pointing at --engine qemu', () => {
  const list = problems(() => planRun(profile('-m 128 -hda cloud.img -device virtio-net-pci,netdev=n -netdev user,id=n')));
  assert.equal(list.length, 2, list.join('\n'));
  assert.match(list[0]!, /guest\.qemu:1:8: error: -hda is not supported by the embedded engine \(use --engine qemu/);
  assert.match(list[1]!, /-device virtio-net-pci is not supported/);
});

test('the embedded engine runs its subset of a profile: kernel, initrd, append, memory, user network, MAC', () => {
  const start = planRun(profile('-kernel my-kernel -append "console=ttyS0" -m 64 -netdev user,id=n,hostfwd=tcp::2222-:22 -device e1000,netdev=n,mac=52:54:00:00:00:01'));
  assert.equal(start.engine, 'embedded');
  if (start.engine !== 'embedded') return;
  assert.equal(start.options.kernel, '/vm/my-kernel');
  assert.equal(start.options.append, 'console=ttyS0');
  assert.equal(start.options.memoryMiB, 64);
  assert.equal(start.options.nic, 'e1000');
  assert.equal(start.options.mac, '52:54:00:00:00:01');
  assert.equal(start.options.netdev?.id, 'n');
  // The bundled guest named by path stays the bundled guest (its snapshot applies).
  const bundled = planRun(profile(`-kernel ${BUNDLED.bzImage} -initrd ${BUNDLED.initrd}`));
  assert.ok(bundled.engine === 'embedded' && bundled.options.kernel === undefined && bundled.options.initrd === undefined);
  const none = planRun(profile('-nic none'));
  assert.ok(none.engine === 'embedded' && none.options.nic === 'none');
});

test('QEMU arguments after -- are read like a profile; errors name the argument', () => {
  const start = qemu(planRun(request({ engine: 'qemu', qemuArgs: ['-m', '128', '-append', "it's quoted", '-kernel', '/vm/my-kernel'] })));
  const args = start.buildArgs(SOCKETS, { kvm: false }).args;
  assert.equal(args[args.indexOf('-append') + 1], "it's quoted");
  const list = problems(() => planRun(request({ engine: 'qemu', qemuArgs: ['-m', '128', '-bogus', 'x'] })));
  assert.match(list[0]!, /^QEMU argument 3 '-bogus': error: unknown option -bogus/);
});

test('conflicting sources are refused with what to do', () => {
  assert.match(problems(() => planRun({ ...profile('-m 1'), qemuArgs: ['-m', '1'] }))[0]!, /either --profile FILE or QEMU arguments/);
  assert.match(problems(() => planRun({ ...profile('-m 1'), flags: { kernel: 'k' } }))[0]!, /do not mix with the profile/);
  assert.match(problems(() => planRun(request({ flags: { netdev: 'user,bogus=1' } })))[0]!, /--netdev: unknown -netdev user suboption "bogus"/);
  assert.match(problems(() => planRun(request({ flags: { mac: '52:54:00' } })))[0]!, /^--mac: bad MAC address '52:54:00'/);
});

test('argv quoting survives the profile lexer; word positions map back', () => {
  const words = ['-append', "a 'b' \\c", '', '-name', 'x y'];
  const text = argvToProfileText(words);
  assert.deepEqual(parseProfile(text).lex.words.map((w) => w.value), words);
  for (const w of parseProfile(text).lex.words) assert.equal(words[wordIndexAt(text, w.start)], w.value);
});

test('-no-reboot: the flag reaches either engine; a profile may say it too', () => {
  const embedded = planRun(request({ noReboot: true, silenceLimitS: 5 }));
  assert.equal(embedded.engine, 'embedded');
  assert.equal(embedded.engine === 'embedded' && embedded.options.noReboot, true);
  assert.equal(embedded.engine === 'embedded' && embedded.options.silenceLimitS, 5);
  const fromProfile = planRun(profile('-kernel /vm/my-kernel -append console=ttyS0 -no-reboot'));
  assert.equal(fromProfile.engine === 'embedded' && fromProfile.options.noReboot, true);
  assert.equal((planRun(request()) as { options: { noReboot?: boolean } }).options.noReboot, undefined);

  const q = qemu(planRun(request({ engine: 'qemu', noReboot: true })));
  const args = q.buildArgs(SOCKETS, { kvm: false }).args;
  assert.equal(args.filter((a) => a === '-no-reboot').length, 1);
  const already = qemu(planRun(profile('# usernet: engine=qemu\n-kernel /vm/my-kernel -no-reboot', '/vm/q.qemu')));
  assert.equal(already.buildArgs(SOCKETS, { kvm: false }).args.filter((a) => a === '-no-reboot').length, 1);
  const again = qemu(planRun({ ...profile('# usernet: engine=qemu\n-kernel /vm/my-kernel -no-reboot', '/vm/q.qemu'), noReboot: true }));
  assert.equal(again.buildArgs(SOCKETS, { kvm: false }).args.filter((a) => a === '-no-reboot').length, 1);
  assert.ok(!qemu(planRun(request({ engine: 'qemu' }))).buildArgs(SOCKETS, { kvm: false }).args.includes('-no-reboot'));
});

test("a profile's # usernet: netem= rules and seed reach the start, under either engine; a bad rule is a located error", () => {
  const text = '# usernet: netem=tcp_input: loss 5%\n# usernet: netem=icmp_reflect: delay 100ms\n# usernet: netem-seed=42\n-m 128';
  const expected = { rules: ['tcp_input: loss 5%', 'icmp_reflect: delay 100ms'], seed: 42 };
  assert.deepEqual(planRun(profile(text)).netem, expected);
  assert.deepEqual(planRun({ ...profile(text), engine: 'qemu' }).netem, expected);
  assert.equal(planRun(profile('-m 128')).netem, undefined);
  const [problem] = problems(() => planRun(profile('# usernet: netem=tcp_input: loss 500%\n-m 128')));
  assert.match(problem!, /^\/vm\/guest\.qemu:1:\d+: error: netem: /);
});

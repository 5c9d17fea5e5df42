/**
 * launch.json through planLaunch: the machine is planned by planRun (as
 * `usernet run` plans it), so each attribute is checked in one place, and the
 * runtime gets that one engine start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { LaunchError, planLaunch } from '../../../extension/debug/launch-args';

const ROOT = resolve(__dirname, '../../..');

test('an embedded launch carries the engine start planRun made, with the launch\'s own additions beside it', () => {
  const plan = planLaunch({ memory: 256, nic: 'virtio', mac: '52:54:00:00:00:07', netdev: 'user,net=10.9.0.0/24,smb=/tmp', snapshot: false, noReboot: true, bootTimeoutMs: 5000, pcap: '/tmp/x.pcap' });
  assert.equal(plan.start.engine, 'embedded');
  if (plan.start.engine !== 'embedded') return;
  const { options } = plan.start;
  assert.equal(options.memoryMiB, 256);
  assert.equal(options.nic, 'virtio');
  assert.equal(options.mac, '52:54:00:00:00:07');
  assert.equal(options.netdev?.net, (10 << 24 | 9 << 16) >>> 0);
  assert.equal(options.snapshot, 'off');
  assert.equal(options.noReboot, true);
  assert.equal(plan.bootTimeoutMs, 5000);
  assert.deepEqual(plan.capture, { file: '/tmp/x.pcap' });
  assert.ok(plan.notes.includes("netdev option 'smb' is accepted for QEMU compatibility but not implemented"), plan.notes.join('\n'));
  assert.ok(plan.notes.some((n) => /^nic 'virtio' is v86's own model/.test(n)), plan.notes.join('\n'));
  // An empty string is an attribute left unset: the bundled guest.
  const empty = planLaunch({ kernel: '', initrd: '', mac: '', netdev: '' }).start;
  assert.ok(empty.engine === 'embedded' && empty.options.kernel === undefined && empty.options.mac === undefined && empty.options.netdev === undefined);
});

test('each machine attribute is refused with the attribute\'s name, whatever the engine', () => {
  const refused = (args: Parameters<typeof planLaunch>[0], pattern: RegExp) => assert.throws(() => planLaunch(args), (e: unknown) => e instanceof LaunchError && pattern.test(e.message));
  refused({ mac: '52:54:00' }, /^launch attribute 'mac': bad MAC address '52:54:00'/);
  refused({ netdev: 'user,bogus=1' }, /^launch attribute 'netdev': unknown -netdev user suboption "bogus"/);
  refused({ memory: 4096 }, /^launch attribute 'memory' must be a whole number of MiB from 16 to 2048 \(got 4096\)/);
  refused({ engine: 'qemu', memory: 8 }, /^launch attribute 'memory' must be a whole number of MiB, at least 16 \(got 8\)/);
  refused({ nic: 'rtl8139' as 'e1000' }, /^launch attribute 'nic' must be one of e1000, virtio, ne2k/);
  refused({ engine: 'bochs' as 'qemu' }, /^launch attribute 'engine' must be "embedded" or "qemu"/);
  // Once checked, for both engines: QEMU's launch no longer lets a bad timeout pass unseen.
  refused({ bootTimeoutMs: -1 }, /^launch attribute 'bootTimeoutMs' must be a positive number/);
  refused({ engine: 'qemu', bootTimeoutMs: -1 }, /^launch attribute 'bootTimeoutMs' must be a positive number/);
  assert.equal(planLaunch({ engine: 'qemu', memory: 4096 }).start.engine, 'qemu', 'QEMU is not bounded by v86\'s 2 GiB');
});

test('a QEMU launch carries the QEMU start: the image of the user\'s gets a shell wait, the bundled guest does not', () => {
  const own = planLaunch({ engine: 'qemu', kernel: resolve(ROOT, 'media/guest/bzImage'), initrd: resolve(ROOT, 'package.json'), bootTimeoutMs: 7000 });
  assert.equal(own.start.engine, 'qemu');
  assert.ok(own.start.engine === 'qemu' && !own.start.bundledGuest);
  assert.equal(own.bootTimeoutMs, 7000);
  assert.equal(own.shell?.timeoutMs, 7000);
  const bundled = planLaunch({ engine: 'qemu' });
  assert.ok(bundled.start.engine === 'qemu' && bundled.start.bundledGuest);
  assert.equal(bundled.shell, undefined);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProfile } from '../../../extension/profile/parser';
import { checkEngineSupport, embeddedLimitation } from '../../../extension/profile/engine-support';

const limits = (text: string) => {
  const { plan, lex } = parseProfile(text);
  return checkEngineSupport(plan, 'embedded', lex.lines).map((p) => text.slice(p.start, p.end));
};

test('the embedded engine runs kernel, RAM, one user network on an e1000 and a serial console', () => {
  const runnable = [
    'qemu-system-i386 -kernel bzImage -initrd initrd.img -append console=ttyS0 -m 256 -nographic -serial stdio -name demo',
    'qemu-system-i386 -netdev user,id=n0,hostfwd=tcp::2222-:22 -device e1000,netdev=n0',
    'qemu-system-i386 -nic user,model=e1000 -serial mon:stdio',
    'qemu-system-i386 -net nic -net user',
    'qemu-system-i386 -net none',
    'qemu-system-i386 -nic none',
  ];
  for (const line of runnable) assert.deepEqual(limits(line), [], line);
});

test('everything else is named, at its option, with the hint to use QEMU', () => {
  assert.deepEqual(limits('x -enable-kvm -cpu host -smp 2 -hda d.img -cdrom c.iso -vga std'), [
    '-enable-kvm', '-cpu host', '-smp 2', '-hda d.img', '-cdrom c.iso', '-vga std',
  ]);
  assert.deepEqual(limits('x -device virtio-net-pci,netdev=n -netdev user,id=n -serial pty -net nic,model=rtl8139 -net user -netdev tap,id=t'), [
    '-device virtio-net-pci,netdev=n', '-serial pty', '-net nic,model=rtl8139', '-netdev tap,id=t',
  ]);
  assert.deepEqual(limits('x disk.img'), ['disk.img']);
  const { plan } = parseProfile('x -smp 2');
  assert.equal(embeddedLimitation(plan.options[0]), '-smp is not supported by the embedded engine (use engine: qemu)');
});

test('the QEMU engine only refuses what would take the process away', () => {
  const text = 'x -enable-kvm -smp 4 -vga std -daemonize';
  const { plan, lex } = parseProfile(text);
  assert.deepEqual(checkEngineSupport(plan, 'qemu', lex.lines).map((p) => [p.code, text.slice(p.start, p.end)]), [['engine-conflict', '-daemonize']]);
});

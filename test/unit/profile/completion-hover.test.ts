import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completeProfile } from '../../../extension/profile/completion';
import { hoverProfile } from '../../../extension/profile/hover';

/** Completes at the `|` in the text; returns labels and the text each entry replaces. */
function complete(marked: string) {
  const offset = marked.indexOf('|');
  const text = marked.replace('|', '');
  const entries = completeProfile(text, offset);
  return { labels: entries.map((e) => e.label), replaced: entries.map((e) => text.slice(e.replaceStart, e.replaceEnd)) };
}

test('option names after the program and after a complete option', () => {
  const { labels, replaced } = complete('qemu-system-x86_64 -no|');
  assert.deepEqual(labels.slice(0, 2), ['-nographic', '-nodefaults']);
  assert.ok(replaced.every((r) => r === '-no'));
  assert.ok(complete('qemu-system-x86_64 -m 1G |').labels.includes('-netdev'));
  // The argument position of -m offers sizes, not options.
  assert.deepEqual(complete('qemu-system-x86_64 -m |').labels, ['512', '1G', '2G', '4G']);
  // Nothing inside a comment.
  assert.deepEqual(complete('# -no|\nqemu-system-x86_64').labels, []);
});

test('suboptions and values of -netdev, -nic, -net, -drive and -device', () => {
  assert.deepEqual(complete('x -netdev |').labels.slice(0, 2), ['user', 'tap']);
  assert.ok(complete('x -netdev user,id=a,|').labels.includes('hostfwd='));
  assert.ok(!complete('x -netdev user,id=a,|').labels.includes('id='), 'id is given already');
  assert.deepEqual(complete('x -netdev user,id=a,hostfwd=|').labels, ['tcp::2222-:22', 'tcp::8080-:80', 'udp::5353-:53']);
  assert.deepEqual(complete('x -netdev user,id=a,ipv6=o|').labels, ['on', 'off']);
  assert.deepEqual(complete('x -netdev user,id=a,ipv6=o|').replaced, ['o', 'o']);
  assert.deepEqual(complete('x -nic user,mo|').labels, ['model=']);
  assert.deepEqual(complete('x -net nic,|').labels, ['model=', 'macaddr=', 'netdev=']);
  assert.deepEqual(complete('x -net |').labels, ['nic', 'user', 'none']);
  assert.deepEqual(complete('x -drive file=a.img,if=v|').labels, ['virtio']);
  assert.deepEqual(complete('x -drive file=a.img,me|').labels, ['media=']);
  assert.deepEqual(complete('x -device e1000|').labels, ['e1000', 'e1000-82545em', 'e1000-82544gc', 'e1000e']);
  assert.deepEqual(complete('x -netdev user,id=lan -netdev user,id=wan -device e1000,netdev=|').labels, ['lan', 'wan']);
  assert.deepEqual(complete('x -device e1000,|').labels, ['netdev=', 'mac=']);
  assert.deepEqual(complete('x -accel |').labels, ['kvm', 'tcg']);
  assert.deepEqual(complete('x -machine q35,|').labels, ['accel=']);
});

test('hover: option docs, suboption docs, NIC models, unknown options', () => {
  const hover = (marked: string) => {
    const offset = marked.indexOf('|');
    const text = marked.replace('|', '');
    const info = hoverProfile(text, offset);
    return info && { contents: info.contents, covered: text.slice(info.start, info.end) };
  };
  const drive = hover('x -dr|ive file=a.img');
  assert.match(drive!.contents, /cloud-init seed/);
  assert.equal(drive!.covered, '-drive');
  assert.match(hover('x -drive fi|le=a.img')!.contents, /attaches a disk image/);
  const restrict = hover('x -netdev user,id=a,restr|ict=on')!;
  assert.equal(restrict.covered, 'restrict=on');
  assert.match(restrict.contents, /Isolate the guest/);
  assert.match(hover('x -nic user,model=virt|io')!.contents, /virtio-net-pci/);
  assert.match(hover('x -frob|nicate')!.contents, /Not a QEMU option/);
  assert.match(hover('qemu-sys|tem-x86_64 -m 1G')!.contents, /QEMU system emulator/);
  assert.equal(hover('x -m 1G   |   -nographic'), undefined);
});

test('inside a # usernet: comment: the directive keys, the engines, netem stages and action words', () => {
  assert.deepEqual(complete('# usernet: |\nx').labels, ['engine=', 'netem=', 'netem-seed=']);
  assert.deepEqual(complete('# usernet: net|\nx').labels, ['netem=', 'netem-seed=']);
  assert.deepEqual(complete('# usernet: net|\nx').replaced, ['net', 'net']);
  assert.deepEqual(complete('# usernet: engine=q|\nx').labels, ['qemu']);
  const stages = complete('# usernet: netem=tcp_|\nx');
  assert.deepEqual(stages.labels, ['tcp_input', 'tcp_output']);
  assert.deepEqual(stages.replaced, ['tcp_', 'tcp_']);
  assert.ok(!complete('# usernet: netem=so|\nx').labels.includes('sosend'), 'sosend takes no conditions');
  assert.deepEqual(complete('# usernet: netem=tcp_input: de|\nx').labels, ['delay']);
  assert.deepEqual(complete('# usernet: netem=tcp_input: loss 5% |\nx').labels.slice(0, 2), ['loss', 'delay']);
  assert.deepEqual(complete('# just a note |\nx').labels, []);
});

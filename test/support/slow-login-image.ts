/**
 * A guest that is not ours, for the tests of users' own images: the bundled
 * kernel with an initramfs whose init boots slowly (8 s of nothing) and then
 * asks for a login, as a getty would, with a prompt of its own
 * ("root@slowguest:~# "). Built from the bundled initramfs into a temporary
 * folder, removed when the test file ends.
 */
import { after } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCpio, writeCpio, type CpioEntry } from './cpio';

const ROOT = resolve(__dirname, '..', '..');
export const BUNDLED_KERNEL = join(ROOT, 'media/guest/bzImage');

/** PID 1 of the test image: busybox as in ours, but slow, with a login and another prompt. */
const SLOW_INIT = `#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
hostname slowguest
echo "slow init: starting services"
sleep 8
echo "slow init: done"
while true; do setsid cttyhack login; done
`;

/** Writes the image's initramfs and returns its path (call it at the top of a test file: it removes the file when that ends). */
export function slowLoginInitrd(): string {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-own-image-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const initrd = join(dir, 'slow-login.cpio.gz');
  const ours = readCpio(readFileSync(join(ROOT, 'media/guest/initramfs.cpio.gz')));
  const file = (name: string, text: string, mode = 0o100644): CpioEntry => ({ name, mode, data: Buffer.from(text) });
  const replaced = new Set(['init', 'etc/passwd', 'etc/profile', 'etc/hostname']);
  writeFileSync(initrd, writeCpio([
    ...ours.filter((e) => !replaced.has(e.name)),
    file('init', SLOW_INIT, 0o100755),
    // An empty password field: busybox login lets root in without asking.
    file('etc/passwd', 'root::0:0:root:/root:/bin/sh\n'),
    file('etc/profile', "export PS1='\\u@\\h:\\w\\$ '\n"),
  ]));
  return initrd;
}

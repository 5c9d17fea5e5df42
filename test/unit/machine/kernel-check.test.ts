import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bundledGuest } from '../../../extension/machine/guest-image';
import { checkEmbeddedKernel, KernelRefused } from '../../../extension/machine/kernel-check';

const bundled = readFileSync(bundledGuest().bzImage);

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => checkEmbeddedKernel(bytes, '/k/file'), (e: Error) => e instanceof KernelRefused && pattern.test(e.message) && e.message.includes('/k/file'));
}

test('the bundled i386 bzImage passes with its boot protocol version', () => {
  assert.ok(checkEmbeddedKernel(bundled, 'bzImage') >= 0x020c);
});

test('a file without the HdrS boot header is refused, naming the file', () => {
  refused(Buffer.from('#!/bin/sh\necho not a kernel\n'.repeat(40)), /is not a Linux kernel .*no 'HdrS' boot header/);
  refused(new Uint8Array(100), /100 bytes is too short/);
  const noFlag = Uint8Array.from(bundled);
  noFlag[0x1fe] = 0;
  refused(noFlag, /no 0xAA55 boot flag/);
});

test('an old boot protocol or a zImage is refused', () => {
  const old = Uint8Array.from(bundled);
  old[0x206] = 0x01;
  old[0x207] = 0x02;
  refused(old, /boot protocol 2\.01 is older than 2\.02/);
  const low = Uint8Array.from(bundled);
  low[0x211]! &= ~1;
  refused(low, /a zImage/);
});

test('a 64-bit kernel (XLF_KERNEL_64) is refused, pointing at --engine qemu', () => {
  const k64 = Uint8Array.from(bundled);
  k64[0x236]! |= 1;
  refused(k64, /64-bit \(x86_64\) kernel .* --engine qemu/);
});

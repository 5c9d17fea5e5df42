import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bench, MAC, R } from './harness';

test('EEPROM read by bit-banging EECD: MAC in words 0-2, 64 words sum to 0xBABA', () => {
  const { drv } = bench();
  drv.reset();
  const words: number[] = [];
  for (let i = 0; i < 64; i++) words.push(drv.readEepromBitBang(i));
  assert.equal(words.reduce((a, b) => a + b, 0) & 0xffff, 0xbaba);
  const mac = [words[0] & 0xff, words[0] >> 8, words[1] & 0xff, words[1] >> 8, words[2] & 0xff, words[2] >> 8];
  assert.deepEqual(mac, Array.from(MAC));
  assert.equal(words[0x0d], 0x100e);
  assert.equal(words[0x0e], 0x8086);
});

test('EEPROM read through EERD matches the bit-banged words', () => {
  const { drv, nic } = bench();
  for (const i of [0, 1, 2, 0x0b, 0x3f]) assert.equal(drv.readEepromEerd(i), drv.readEepromBitBang(i));
  assert.equal(drv.readEepromEerd(0), MAC[0] | (MAC[1] << 8));
  // An address past the 64 words completes without data and is counted.
  drv.w(R.EERD, (200 << 8) | 1);
  assert.equal(drv.r(R.EERD) & 0x10, 0x10);
  assert.equal(drv.r(R.EERD) >>> 16, 0);
  assert.equal(nic.refusals['eeprom-address-beyond-64-words'], 1);
});

test('EECD reports a present 64-word part and DO idles high', () => {
  const { drv } = bench();
  const e = drv.r(R.EECD);
  assert.ok(e & 0x100, 'PRES');
  assert.equal(e & 0x200, 0, 'SIZE clear: 64 words');
  assert.ok(e & 0x8, 'DO high when idle');
});

test('PHY over MDIC: M88E1011 IDs at address 1, link up and autoneg complete', () => {
  const { drv, nic } = bench();
  assert.equal(drv.mdicRead(2), 0x0141);
  assert.equal(drv.mdicRead(3), 0x0c20);
  const bmsr = drv.mdicRead(1);
  assert.ok(bmsr & 0x4, 'link status');
  assert.ok(bmsr & 0x20, 'autoneg complete');
  assert.equal(drv.mdicRead(0), 0x1140);
  // Another PHY address: ERROR set, counted.
  assert.equal(drv.mdicRead(2, 3), -1);
  assert.equal(nic.refusals['mdic-no-phy-at-address'], 1);
  // A writable register keeps its value; autoneg restart self-clears.
  drv.mdicWrite(4, 0x01e1);
  assert.equal(drv.mdicRead(4), 0x01e1);
  drv.mdicWrite(0, 0x1140 | 0x200);
  assert.equal(drv.mdicRead(0) & 0x200, 0);
  assert.ok(drv.mdicRead(1) & 0x20);
  // Read-only registers ignore writes.
  drv.mdicWrite(2, 0xdead);
  assert.equal(drv.mdicRead(2), 0x0141);
  assert.equal(nic.refusals['phy-write-to-read-only-register'], 1);
});

test('MDIC with INT_EN raises MDAC', () => {
  const { drv } = bench();
  drv.w(R.MDIC, (2 << 16) | (1 << 21) | (2 << 26) | (1 << 29));
  assert.equal(drv.r(R.ICR) & 0x200, 0x200);
});

test('STATUS: full duplex, 1000 Mb/s, link up; CTRL.RST through the I/O BAR restores defaults', () => {
  const { drv, nic } = bench();
  const st = drv.r(R.STATUS);
  assert.equal(st & 1, 1);
  assert.equal(st & 2, 2);
  assert.equal((st >> 6) & 3, 2);
  assert.equal(st & 0x10, 0, 'TXOFF clear');
  drv.w(R.RCTL, 0x8002);
  drv.w(R.IMS, 0x9d);
  drv.w(R.RA + 8, 0x11223344);
  nic.ioWrite32(0, R.RCTL);
  assert.equal(nic.ioRead32(0), R.RCTL);
  assert.equal(nic.ioRead32(4), 0x8002);
  nic.ioWrite32(0, R.CTRL);
  nic.ioWrite32(4, drv.r(R.CTRL) | (1 << 26));
  assert.equal(drv.r(R.RCTL), 0);
  assert.equal(drv.r(R.IMS), 0);
  assert.equal(drv.r(R.RA + 8), 0);
  assert.equal(drv.r(R.CTRL) & (1 << 26), 0, 'RST self-clears');
  // RA[0] is reloaded from the EEPROM with Address Valid.
  assert.equal(drv.r(R.RA), (MAC[0] | (MAC[1] << 8) | (MAC[2] << 16) | (MAC[3] << 24)) >>> 0);
  assert.equal(drv.r(R.RA + 4), (MAC[4] | (MAC[5] << 8) | 0x80000000) >>> 0);
});

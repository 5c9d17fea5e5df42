import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv4, formatMac } from '../../../extension/wire/address';
import { formatIpv6 } from '../../../extension/wire/ipv6-address';

test('formatIpv4 prints the dotted quad of an unsigned 32-bit address', () => {
  assert.equal(formatIpv4(0x0a00020f), '10.0.2.15');
  assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
  assert.equal(formatIpv4(0), '0.0.0.0');
});

test('formatMac prints the 6 bytes at an offset, zero-padded lower-case hex', () => {
  const frame = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
  assert.equal(formatMac(frame), 'ff:ff:ff:ff:ff:ff');
  assert.equal(formatMac(frame, 6), '52:54:00:12:34:56');
});

test('formatIpv6 agrees with the URL parser (RFC 5952) on zero runs at every position', () => {
  const cases = ['fec0::2', '::', '::1', 'fe80::1:0:0:1', '1:0:0:2:0:0:0:3', '1:2:3:4:5:6:7:8', '2001:db8::', '0:1:0:1:0:1:0:1', 'fec0:0:0:1::'];
  for (const text of cases) {
    const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    const groups = canonical === '::' ? [] : canonical.split(':');
    // Expand the canonical form back to 16 bytes to feed the formatter.
    const at = groups.indexOf('');
    const full = at < 0 ? groups : [...groups.slice(0, at).filter(Boolean), ...Array(8 - groups.filter(Boolean).length).fill('0'), ...groups.slice(at).filter(Boolean)];
    const bytes = new Uint8Array(18);
    full.forEach((g, i) => {
      const n = parseInt(g || '0', 16);
      bytes[2 + i * 2] = n >> 8;
      bytes[3 + i * 2] = n & 255;
    });
    assert.equal(formatIpv6(bytes, 2), canonical, text);
  }
});

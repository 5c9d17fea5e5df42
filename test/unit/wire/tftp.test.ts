import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTftpRequest, tftpData, tftpError, tftpOack, TFTP_FILENAME_MAX } from '../../../extension/wire/tftp';

/** A request as RFC 1350 lays it out, written here independently of the code under test. */
const request = (op: number, ...fields: string[]) => Uint8Array.from([0, op, ...fields.flatMap((f) => [...Buffer.from(f, 'utf8'), 0])]);

test('a read request parses to its name, mode (lower case) and options (first of a repeated name wins)', () => {
  const r = parseTftpRequest(request(1, 'boot/pxelinux.0', 'OCTET', 'BlkSize', '1428', 'tsize', '0', 'blksize', '8'));
  assert.deepEqual(r, { name: 'boot/pxelinux.0', mode: 'octet', options: new Map([['blksize', '1428'], ['tsize', '0']]) });
});

test('malformed requests say why: no name, a field without its NUL, an odd option list, an unknown mode, a name too long', () => {
  assert.equal(parseTftpRequest(Uint8Array.of(0, 1)), 'bad-name');
  assert.equal(parseTftpRequest(Uint8Array.of(0, 1, 0x61)), 'bad-name');
  assert.equal(parseTftpRequest(Uint8Array.from([...request(1, 'a'), 0x6f])), 'bad-request');
  assert.equal(parseTftpRequest(request(1, 'a', 'octet', 'blksize')), 'bad-request');
  assert.equal(parseTftpRequest(request(1, 'a', 'mail')), 'bad-mode');
  assert.equal(parseTftpRequest(request(1, 'x'.repeat(TFTP_FILENAME_MAX + 1), 'octet')), 'bad-name');
  assert.equal(parseTftpRequest(Uint8Array.from([0, 1, 0xff, 0xfe, 0, ...Buffer.from('octet'), 0])), 'bad-name', 'not UTF-8');
});

test('the packets the server sends: OACK, DATA (block modulo 65536) and ERROR, byte for byte', () => {
  assert.deepEqual([...tftpOack([['blksize', 1428], ['tsize', 7]])], [0, 6, ...Buffer.from('blksize\u00001428\u0000tsize\u00007\u0000')]);
  assert.deepEqual([...tftpData(65537, Uint8Array.of(9, 8))], [0, 3, 0, 1, 9, 8]);
  assert.deepEqual([...tftpError(2, 'Access violation')], [0, 5, 0, 2, ...Buffer.from('Access violation'), 0]);
});

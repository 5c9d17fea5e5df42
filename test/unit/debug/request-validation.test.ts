import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddForward, checkCloseSession, checkNoArgs, checkRemoveForward, checkSerialInput, checkStartCapture } from '../../../extension/debug/request-validation';

test('serial input must be small base64', () => {
  assert.deepEqual(checkSerialInput({ data: Buffer.from('ls\n').toString('base64') }), { ok: true, args: { data: 'bHMK' } });
  const bad = checkSerialInput({ data: 'not base64!' });
  assert.equal(bad.ok, false);
  assert.match((bad as { reason: string }).reason, /not base64/);
  const huge = checkSerialInput({ data: 'A'.repeat(64 * 1024 + 4) });
  assert.match((huge as { reason: string }).reason, /too large/);
  assert.equal(checkSerialInput('bHMK').ok, false);
  assert.equal(checkSerialInput(null).ok, false);
});

test('session ids must be positive integers', () => {
  assert.deepEqual(checkCloseSession({ id: 3 }), { ok: true, args: { id: 3 } });
  for (const id of [0, -1, 1.5, '3', NaN, 2 ** 60]) assert.equal(checkCloseSession({ id }).ok, false, String(id));
  assert.equal(checkCloseSession(undefined).ok, false);
});

test('forward and capture requests are checked field by field', () => {
  assert.deepEqual(checkAddForward({ spec: ' tcp:127.0.0.1:2222-:22 ' }), { ok: true, args: { spec: 'tcp:127.0.0.1:2222-:22' } });
  assert.equal(checkAddForward({ spec: '' }).ok, false);
  assert.equal(checkAddForward({ spec: 'x'.repeat(300) }).ok, false);
  assert.equal(checkRemoveForward({ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 2222 }).ok, true);
  assert.equal(checkRemoveForward({ protocol: 'sctp', hostAddr: '127.0.0.1', hostPort: 2222 }).ok, false);
  assert.equal(checkRemoveForward({ protocol: 'udp', hostAddr: 'localhost', hostPort: 2222 }).ok, false);
  assert.equal(checkRemoveForward({ protocol: 'udp', hostAddr: '127.0.0.1', hostPort: 70000 }).ok, false);
  assert.deepEqual(checkStartCapture({ file: '/tmp/a.pcap', filter: 'tcp', snaplen: 128 }), { ok: true, args: { file: '/tmp/a.pcap', filter: 'tcp', snaplen: 128 } });
  assert.equal(checkStartCapture({ file: '' }).ok, false);
  assert.equal(checkStartCapture({ file: 'a\0b' }).ok, false);
  assert.equal(checkStartCapture({ file: 'a.pcap', snaplen: 0 }).ok, false);
  assert.equal(checkStartCapture({ file: 'a.pcap', filter: 7 }).ok, false);
  assert.equal(checkNoArgs(undefined).ok, true);
  assert.equal(checkNoArgs({}).ok, true);
  assert.equal(checkNoArgs('x').ok, false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeBatcher, type BatchTimers } from '../../../extension/debug/change-batcher';
import { checkAddForward, checkCloseSession, checkNoArgs, checkRemoveForward, checkSerialInput, checkStartCapture } from '../../../extension/debug/request-validation';
import { sessionRow } from '../../../extension/debug/session-rows';
import { FakeMachine } from './fake-machine';

/** Timers that move only when the test says so. */
class ManualTimers implements BatchTimers {
  t = 0;
  private pending: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now() { return this.t; }
  setTimeout(fn: () => void, ms: number) { const id = this.nextId++; this.pending.push({ at: this.t + ms, fn, id }); return id; }
  clearTimeout(h: unknown) { this.pending = this.pending.filter((p) => p.id !== h); }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

test('session snapshots go out at most 4 times a second however often the table changes', () => {
  const timers = new ManualTimers();
  let value = 0;
  const sent: number[] = [];
  const b = new ChangeBatcher(() => ({ value }), (v) => sent.push(v.value), 4, timers);
  // 1000 changes over 2 seconds, one every 2 ms.
  for (let i = 0; i < 1000; i++) {
    value++;
    b.poke();
    timers.advance(2);
  }
  timers.advance(1000);
  assert.ok(sent.length <= 2 * 4 + 1, `${sent.length} sends in 2 s`);
  assert.ok(sent.length >= 8, `${sent.length} sends: a busy table still updates`);
  assert.equal(sent.at(-1), 1000, 'the last state always arrives');
  for (let i = 1; i < sent.length; i++) assert.ok(sent[i]! > sent[i - 1]!);
});

test('nothing is sent when nothing changed', () => {
  const timers = new ManualTimers();
  const sent: string[] = [];
  const state = { sessions: ['a'] };
  const b = new ChangeBatcher(() => state, (v) => sent.push(JSON.stringify(v)), 4, timers);
  b.poke();
  for (let i = 0; i < 10; i++) { timers.advance(300); b.poke(); }
  assert.equal(sent.length, 1);
  state.sessions.push('b');
  b.poke();
  timers.advance(300);
  assert.equal(sent.length, 2);
  b.flush();
  assert.equal(sent.length, 2, 'a flush of the same value sends nothing');
  b.dispose();
});

test('session rows show endpoints and expiry in whole seconds', () => {
  const m = new FakeMachine();
  const s = m.addSession(1, { createdAt: 0, expiresAt: 240_000 });
  const row = sessionRow(s, 1_500);
  assert.equal(row.guest, '10.0.2.15:40000');
  assert.equal(row.remote, '10.0.2.2:9999');
  assert.equal(row.host, '127.0.0.1:9999');
  assert.equal(row.ageMs, 1000);
  assert.equal(row.expiresInMs, 239_000);
  const icmp = sessionRow(m.addSession(2, { protocol: 'icmp', expiresAt: undefined }), 0);
  assert.equal(icmp.remote, '10.0.2.2');
  assert.equal(icmp.expiresInMs, undefined);
});

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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeBatcher, type BatchTimers } from '../../../extension/runtime/change-batcher';
import { sessionRow } from '../../../extension/runtime/session-rows';
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

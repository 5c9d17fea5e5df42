/** Packet details as Wireshark shows them, the Journey scope, and what the Debug Console finds and completes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildScopes, findStopNode, stopObjects, type ScopeContext } from '../../../extension/debug/packet-scopes';
import { VariableStore } from '../../../extension/debug/variable-store';
import { hexLine, hexLines } from '../../../extension/debug/hex-dump';
import { journeySoFar } from '../../../extension/runtime/journey-so-far';
import { completionTargets, wordBefore } from '../../../extension/debug/completions';
import { evaluateField } from '../../../extension/pipeline/filter';
import type { ProbeHit } from '../../../extension/pipeline/probe';
import type { StopEvent } from '../../../extension/pipeline/breakpoints';
import * as P from '../pipeline/packets';

const session = { id: 7, protocol: 'tcp' as const, state: 'ESTABLISHED', guestAddr: '10.0.2.15', guestPort: 40001, hostAddr: '93.184.216.34', hostPort: 80 };
const txHit: ProbeHit = {
  stage: 'e1000_send_packet',
  frame: P.httpGet,
  descriptor: { ring: 'tx', index: 5, address: 0x1f000050, fields: { kind: 'data', cmd: 0x2b, status: 0x01, buffer: 0x3a2b1000, length: P.httpGet.length, popts: 0x02, eop: true } },
  session,
};
const chain: StopEvent['stageChain'] = ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet'];

function context(hit: ProbeHit, extra: Partial<ScopeContext> = {}): ScopeContext {
  return { hit, stage: hit.stage, memoryReference: 'packet:3', stagePackets: 9, ...extra };
}

test('hex + ASCII: sixteen bytes a line, a gap after eight, dots for what does not print, the last line padded', () => {
  const bytes = Uint8Array.from([...'GET / HTTP/1.1\r\n'].map((c) => c.charCodeAt(0)).concat([0x41, 0x00]));
  assert.deepEqual(hexLine(bytes, 0), { offset: '0000', text: '47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a   GET / HTTP/1.1..' });
  const last = hexLine(bytes, 16);
  assert.equal(last.offset, '0010');
  assert.equal(last.text, `41 00${' '.repeat(3 * 14 + 1)}   A.`);
  assert.equal(hexLines(P.httpGet).length, Math.ceil(P.httpGet.length / 16));
});

test('the Packet scope: bytes and payload expand to hex + ASCII lines, flags and ICMP types are named', () => {
  const store = new VariableStore();
  const scopes = buildScopes(context(txHit), store);
  const packet = store.variables(scopes[0]!.variablesReference)!;
  const bytes = packet.find((v) => v.name === 'bytes')!;
  assert.equal(bytes.memoryReference, 'packet:3');
  assert.equal(bytes.evaluateName, 'frame.bytes');
  const lines = store.variables(bytes.variablesReference)!;
  assert.equal(lines.length, Math.ceil(P.httpGet.length / 16));
  assert.deepEqual([lines[1]!.name, lines[1]!.evaluateName], ['0010', 'frame.bytes.0010']);
  const payload = packet.find((v) => v.name === 'payload')!;
  assert.equal(payload.value, '16 bytes');
  assert.match(store.variables(payload.variablesReference)![0]!.value, /^47 45 54 20 .*   GET \/ HTTP\/1\.1\.\.$/);
  const tcp = store.variables(packet.find((v) => v.name === 'tcp')!.variablesReference)!;
  assert.equal(tcp.find((f) => f.name === 'tcp.flags')!.value, '0x018 (PSH, ACK)');
  assert.equal(evaluateField('ip.flags', { stage: 'ip_input', frame: P.syn }).display[0], '0x40 (DF)');
  assert.equal(evaluateField('ip.flags', { stage: 'ip_input', frame: P.httpGet }).display[0], '0x00');
  assert.equal(evaluateField('icmp.type', { stage: 'icmp_input', frame: P.ping }).display[0], '8 (Echo (ping) request)');
  assert.equal(evaluateField('icmp.type', { stage: 'icmp_input', frame: P.pong }).display[0], '0 (Echo (ping) reply)');
  assert.equal(evaluateField('icmpv6.type', { stage: 'icmp6_input', frame: P.neighborSolicit }).display[0], '135 (Neighbor Solicitation)');
});

test('the e1000 descriptor: command and status bits by name for the kind, addresses in hex; filters still compare numbers', () => {
  const store = new VariableStore();
  const scope = buildScopes(context(txHit), store).find((s) => s.name === 'e1000 descriptor')!;
  const d = Object.fromEntries(store.variables(scope.variablesReference)!.map((v) => [v.name, v.value]));
  assert.equal(d.cmd, '0x2b (EOP, IFCS, RS, DEXT)');
  assert.equal(d.status, '0x01 (DD)');
  assert.equal(d.buffer, '0x3a2b1000');
  assert.equal(d.popts, '0x02 (TXSM)');
  assert.equal(d.address, '0x1f000050');
  assert.equal(d.eop, '1');
  const context6 = { ...txHit, descriptor: { ring: 'tx' as const, index: 4, address: 0, fields: { kind: 'context', cmd: 0x2f, tucmd: 0x2f } } };
  assert.equal(evaluateField('e1000.cmd', context6).display[0], '0x2f (TCP, IP, TSE, RS, DEXT)');
  assert.equal(evaluateField('e1000.cmd', { ...txHit, descriptor: { ...txHit.descriptor!, fields: { kind: 'legacy', cmd: 0x0b } } }).display[0], '0x0b (EOP, IFCS, RS)');
  assert.equal(evaluateField('e1000.cmd', txHit).values[0], 0x2b);
});

test('the Journey scope lists the stages crossed with VM time and verdicts and the NAT mapping; a step keeps earlier times', () => {
  const first = journeySoFar({ reason: 'breakpoint', hit: txHit, stageChain: chain }, 1500.25);
  assert.deepEqual(first.steps.map((s) => [s.stage, s.time, s.verdict.kind]), [
    ['e1000_mmio_write', 1500.25, 'forwarded'], ['start_xmit', 1500.25, 'forwarded'], ['process_tx_desc', 1500.25, 'forwarded'], ['e1000_send_packet', 1500.25, 'held'],
  ]);
  const hit2: ProbeHit = { stage: 'qemu_send_packet', frame: P.httpGet };
  const second = journeySoFar({ reason: 'step', hit: hit2, stageChain: [...chain, 'qemu_send_packet'] }, 1502, first);
  assert.deepEqual(second.steps.map((s) => s.time), [1500.25, 1500.25, 1500.25, 1500.25, 1502]);
  assert.deepEqual(second.nat, { session: 7, protocol: 'tcp', guest: '10.0.2.15:40001', host: '93.184.216.34:80' }, 'the mapping is kept across the step');
  const other = journeySoFar({ reason: 'step', hit: { stage: 'soread', frame: new Uint8Array(0) }, stageChain: ['soread'] }, 1600, second);
  assert.equal(other.steps[0]!.time, 1600);
  assert.equal(other.nat, undefined, 'another packet starts afresh');
  const dropped = journeySoFar({ reason: 'drop', hit: { stage: 'udp_input', frame: P.udpData }, stageChain: ['slirp_input', 'ip_input', 'udp_input'], dropReason: 'udp-bad-checksum' }, 10);
  assert.deepEqual(dropped.steps.at(-1)!.verdict, { kind: 'dropped', reason: 'udp-bad-checksum' });

  const store = new VariableStore();
  const scopes = buildScopes(context(txHit, { journey: second }), store);
  assert.deepEqual(scopes.map((s) => s.name), ['Packet', 'e1000 descriptor', 'NAT session', 'Journey', 'Stage']);
  const rows = store.variables(scopes[3]!.variablesReference)!;
  assert.deepEqual(rows.map((r) => [r.name, r.value, r.evaluateName]).slice(-2), [
    ['qemu_send_packet', '1.502000 s · held', 'journey.qemu_send_packet'],
    ['nat', 'tcp 10.0.2.15:40001 <-> 93.184.216.34:80 (session 7)', 'journey.nat'],
  ]);
});

test('every name Variables shows is found again by its evaluateName, objects first', () => {
  const objects = stopObjects(context(txHit, { journey: journeySoFar({ reason: 'breakpoint', hit: txHit, stageChain: chain }, 5) }));
  assert.deepEqual(objects.map((o) => o.node.evaluateName), ['frame', 'descriptor', 'session', 'journey', 'stage']);
  const store = new VariableStore();
  const names: string[] = [];
  const visit = (ref: number, depth: number) => {
    for (const v of store.variables(ref) ?? []) {
      assert.ok(v.evaluateName, `${v.name} has an evaluateName`);
      names.push(v.evaluateName);
      if (v.variablesReference && depth > 0) visit(v.variablesReference, depth - 1);
    }
  };
  for (const s of buildScopes(context(txHit, { journey: journeySoFar({ reason: 'breakpoint', hit: txHit, stageChain: chain }, 5) }), store)) visit(s.variablesReference, 1);
  for (const name of names) assert.ok(findStopNode(objects, name), `${name} is found`);
  assert.equal(findStopNode(objects, 'frame')!.value, findStopNode(objects, 'frame.summary')!.value);
  assert.equal(findStopNode(objects, 'session.guest')!.value, '10.0.2.15:40001');
  assert.match(findStopNode(objects, 'journey')!.value, /^tx, 4 stages, held at e1000_send_packet$/);
  assert.equal(findStopNode(objects, 'frame.nothing'), undefined);
});

test('completion: the word before the cursor, fields of the filter language, the stop\'s objects and their members', () => {
  assert.deepEqual(wordBefore('ip.src == 10 && tcp.fl', 23), { start: 16, word: 'tcp.fl' });
  assert.deepEqual(wordBefore('', 1), { start: 0, word: '' });
  const objects = stopObjects(context(txHit)).map((o) => o.node);
  const labels = (word: string) => completionTargets(word, objects).map((t) => t.label);
  assert.deepEqual(labels('tcp.flags.s'), ['tcp.flags.syn']);
  assert.ok(labels('fr').includes('frame') && labels('fr').includes('frame.len'));
  assert.ok(labels('session.').includes('session.bytesIn') === false, 'no live session: no counters');
  assert.ok(labels('session.').includes('session.guest') && labels('session.').includes('session.state'));
  assert.ok(labels('in').includes('info usernet'));
  assert.deepEqual(completionTargets('journey', []).map((t) => t.label), [], 'no stop, no objects');
  assert.ok(completionTargets('', objects).length <= 200);
});

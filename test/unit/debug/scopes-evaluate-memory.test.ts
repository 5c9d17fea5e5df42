import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildScopes } from '../../../extension/debug/packet-scopes';
import { VariableStore } from '../../../extension/debug/variable-store';
import { evaluateExpression, HELP_TEXT } from '../../../extension/runtime/evaluate';
import { readPacketMemory, parsePacketMemoryReference, packetMemoryReference } from '../../../extension/runtime/packet-memory';
import type { ProbeHit } from '../../../extension/pipeline/probe';
import * as P from '../pipeline/packets';

const dhcpHit: ProbeHit = {
  stage: 'e1000_send_packet',
  frame: P.dhcpDiscover,
  descriptor: { ring: 'tx', index: 3, address: 0x1f000030, fields: { kind: 'data', length: P.dhcpDiscover.length, eop: true } },
  session: { id: 4, protocol: 'udp', state: 'ACTIVE', guestAddr: '10.0.2.15', guestPort: 68, hostAddr: '127.0.0.1', hostPort: 67 },
};

function scopesOf(hit: ProbeHit, store = new VariableStore()) {
  const scopes = buildScopes({ hit, stage: hit.stage, memoryReference: 'packet:9', stagePackets: 12, breakpointHits: 2 }, store);
  const vars = (name: string) => store.variables(scopes.find((s) => s.name === name)!.variablesReference)!;
  return { scopes, vars, store };
}

test('a hit with descriptor and session has the four scopes', () => {
  const { scopes } = scopesOf(dhcpHit);
  assert.deepEqual(scopes.map((s) => s.name), ['Packet', 'e1000 descriptor', 'NAT session', 'Stage']);
  const bare = scopesOf({ stage: 'udp_input', frame: P.udpData });
  assert.deepEqual(bare.scopes.map((s) => s.name), ['Packet', 'Stage']);
});

test('the Packet scope starts with the raw bytes behind a memoryReference, then expandable layers', () => {
  const { vars, store } = scopesOf(dhcpHit);
  const packet = vars('Packet');
  assert.equal(packet[0]!.name, 'bytes');
  assert.equal(packet[0]!.memoryReference, 'packet:9');
  assert.equal(packet[0]!.value, `${P.dhcpDiscover.length} bytes`);
  assert.match(packet[1]!.value, /DHCP/);
  const layers = packet.slice(2).map((v) => v.name);
  for (const l of ['eth', 'ip', 'udp', 'dhcp']) assert.ok(layers.includes(l), `layer ${l} in ${layers}`);
  const udp = packet.find((v) => v.name === 'udp')!;
  assert.ok(udp.variablesReference > 0);
  const fields = store.variables(udp.variablesReference)!;
  const dst = fields.find((f) => f.name === 'udp.dstport')!;
  assert.equal(dst.value, '67');
  assert.equal(dst.evaluateName, 'udp.dstport');
  assert.equal(dst.variablesReference, 0);
});

test('descriptor, session and stage scopes show what the pipeline knows', () => {
  const { vars } = scopesOf(dhcpHit);
  const d = Object.fromEntries(vars('e1000 descriptor').map((v) => [v.name, v.value]));
  assert.equal(d.ring, 'tx');
  assert.equal(d.index, '3');
  assert.equal(d.address, '0x1f000030');
  assert.equal(d.eop, '1');
  const s = Object.fromEntries(vars('NAT session').map((v) => [v.name, v.value]));
  assert.equal(s.guest, '10.0.2.15:68');
  assert.equal(s.host, '127.0.0.1:67');
  const st = Object.fromEntries(vars('Stage').map((v) => [v.name, v.value]));
  assert.equal(st.name, 'e1000_send_packet');
  assert.equal(st.owner, 'nic');
  assert.match(st.direction!, /^tx/);
  assert.equal(st.packets, '12');
  assert.equal(st['breakpoint hits'], '2');
});

test('a register access shows its offset and value under Stage', () => {
  const { vars, store } = scopesOf({ stage: 'address_space_rw', frame: new Uint8Array(0), register: { offset: 0x3818, value: 5, write: true } });
  const reg = vars('Stage').find((v) => v.name === 'register')!;
  assert.equal(reg.value, 'write 0x03818 = 0x00000005');
  assert.ok(store.variables(reg.variablesReference)!.some((v) => v.name === 'offset' && v.value === '0x03818'));
  assert.equal(vars('Packet')[1]!.value, '(no frame at this stage)');
});

test('variable references die when the store is cleared (the VM ran on)', () => {
  const { scopes, store } = scopesOf(dhcpHit);
  store.clear();
  assert.equal(store.variables(scopes[0]!.variablesReference), undefined);
});

test('evaluate: fields, filters, info usernet, help and clear errors', () => {
  const ctx = { hit: dhcpHit, infoUsernet: () => 'Hub -1 (user.0):\n' };
  assert.deepEqual(evaluateExpression('udp.dstport', ctx), { result: '67', type: 'uint' });
  assert.equal(evaluateExpression('ip.src', ctx).result, '0.0.0.0');
  assert.equal(evaluateExpression('e1000.index', ctx).result, '3');
  assert.equal(evaluateExpression('session.state', ctx).result, 'ACTIVE');
  assert.deepEqual(evaluateExpression('udp.dstport == 67 && !tcp', ctx), { result: 'true', type: 'bool' });
  assert.equal(evaluateExpression('udp', ctx).result, 'true');
  assert.equal(evaluateExpression('ip.addr == 10.0.2.0/24', ctx).result, 'false');
  assert.equal(evaluateExpression('  info   usernet ', ctx).result, 'Hub -1 (user.0):');
  assert.equal(evaluateExpression('help', ctx).result, HELP_TEXT);
  assert.throws(() => evaluateExpression('tcp.dstport', ctx), /this packet has no tcp\.dstport/);
  assert.throws(() => evaluateExpression('udp.dstprot == 67', ctx), /unknown field 'udp\.dstprot'.*did you mean 'udp\.dstport'.*column 1/);
  assert.throws(() => evaluateExpression('udp.dstport ==', ctx), /at column/);
  assert.throws(() => evaluateExpression('', ctx), /nothing to evaluate/);
  assert.throws(() => evaluateExpression('foo', ctx, 'hover'), /not a packet field/);
  assert.throws(() => evaluateExpression('udp.dstport', { hit: undefined, infoUsernet: () => undefined }), /not stopped/);
  assert.throws(() => evaluateExpression('info usernet', { hit: undefined, infoUsernet: () => undefined }), /no user-mode network/);
});

test('readMemory honours offset and count and reports what lies past the packet', () => {
  const bytes = Uint8Array.from({ length: 20 }, (_, i) => i);
  const b64 = (a: number[]) => Buffer.from(a).toString('base64');
  assert.deepEqual(readPacketMemory(bytes, 0, 4), { address: '0x0', data: b64([0, 1, 2, 3]) });
  assert.deepEqual(readPacketMemory(bytes, 16, 10), { address: '0x10', data: b64([16, 17, 18, 19]), unreadableBytes: 6 });
  assert.deepEqual(readPacketMemory(bytes, -2, 4), { address: '0x0', data: b64([0, 1]) });
  assert.deepEqual(readPacketMemory(bytes, 30, 4), { address: '0x1e', data: '', unreadableBytes: 4 });
  assert.deepEqual(readPacketMemory(bytes, 5, 0), { address: '0x5', data: '' });
  assert.throws(() => readPacketMemory(bytes, 0, -1), /bad readMemory range/);
  assert.throws(() => readPacketMemory(bytes, 0.5, 1), /bad readMemory range/);
  // A subarray view reads its own bytes, not its parent buffer's.
  assert.deepEqual(readPacketMemory(bytes.subarray(10), 0, 2), { address: '0x0', data: b64([10, 11]) });
  assert.equal(parsePacketMemoryReference(packetMemoryReference(42)), 42);
  assert.equal(parsePacketMemoryReference('packet:x'), undefined);
  assert.equal(parsePacketMemoryReference('0x1000'), undefined);
});

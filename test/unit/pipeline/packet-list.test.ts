import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCaptureFile } from '../../../extension/pipeline/capture-file';
import { PacketList } from '../../../extension/pipeline/capture-file/packet-list';
import { FilterSyntaxError } from '../../../extension/pipeline/filter';
import { GUEST, PACKETS_PER_CONNECTION, samplePcapng, SERVER, TCP_PACKETS_PER_CONNECTION } from '../../support/capture-samples';

async function list(packets: number): Promise<PacketList> {
  const bytes = await samplePcapng(packets);
  return new PacketList(bytes, readCaptureFile(bytes));
}

test('rows carry Wireshark\'s columns, the interface (our stage) and whether the packet has comments', async () => {
  const l = await list(PACKETS_PER_CONNECTION);
  assert.equal(l.total, PACKETS_PER_CONNECTION);
  const [dns, , syn, synAck] = l.rows(0, 4);
  assert.deepEqual([dns!.no, dns!.time, dns!.source, dns!.destination, dns!.protocol, dns!.iface], [1, '0.000000', GUEST, '10.0.2.3', 'DNS', 'qemu_send_packet']);
  assert.match(dns!.info, /DNS query A example\.com/);
  assert.deepEqual([syn!.protocol, syn!.time, syn!.length], ['TCP', '0.002000', 60]);
  assert.match(syn!.info, /^40000 → 80 TCP \[SYN\] seq=1000/);
  assert.equal(synAck!.iface, 'net_slirp_send_packet');
  assert.ok(syn!.commented);
});

test('the filter language narrows the list, pipeline.stage reads the interface, a bad filter throws and keeps the list', async () => {
  const connections = 10;
  const l = await list(connections * PACKETS_PER_CONNECTION);
  assert.equal(l.setFilter('tcp.port == 80'), connections * TCP_PACKETS_PER_CONNECTION);
  assert.equal(l.setFilter('tcp.flags.syn == 1 && tcp.flags.ack == 0'), connections);
  assert.equal(l.setFilter('dns && pipeline.stage == "net_slirp_send_packet"'), connections);
  assert.deepEqual(l.rows(0, 100).map((r) => r.no), Array.from({ length: connections }, (_, c) => c * PACKETS_PER_CONNECTION + 2));
  assert.equal(l.positionOf(2), 0);
  assert.equal(l.positionOf(3), -1);
  assert.throws(() => l.setFilter('tcp.port == '), (e: unknown) => e instanceof FilterSyntaxError && e.column > 0);
  assert.throws(() => l.setFilter('tcp.prot == 80'), /unknown field 'tcp.prot'/);
  assert.equal(l.shown, connections, 'a bad filter leaves the list as it was');
  assert.equal(l.setFilter(''), l.total);
});

test('details: the capture record, the Variables view\'s layers and field names, the comments, the bytes and the conversation', async () => {
  const l = await list(PACKETS_PER_CONNECTION);
  const d = l.details(3)!;
  assert.equal(d.tree.capture!['frame.interface_name'], 'qemu_send_packet');
  assert.equal(d.tree.capture!['frame.direction'], 'outbound (from the guest)');
  assert.equal(d.tree.ip!['ip.src'], GUEST);
  assert.equal(d.tree.tcp!['tcp.dstport'], '80');
  assert.equal(d.tree.pipeline!['pipeline.stage'], 'qemu_send_packet');
  assert.deepEqual(d.comments, [`stage qemu_send_packet; journey 3; nat tcp ${GUEST}:40000 <-> 127.0.0.1:50000 (session 1)`]);
  assert.equal(d.bytes.length, 60);
  assert.equal(d.conversation?.key, `tcp ${GUEST}:40000 <-> ${SERVER}:80`);
  assert.equal(l.details(0), undefined);
  assert.equal(l.details(PACKETS_PER_CONNECTION + 1), undefined);
});

test('Show Flow\'s model: one 5-tuple\'s packets both ways, in order, whatever the filter; its filter selects the same packets', async () => {
  const l = await list(3 * PACKETS_PER_CONNECTION);
  l.setFilter('dns');
  const flow = l.conversation(PACKETS_PER_CONNECTION + 4)!;
  assert.equal(flow.conversation.a, `${SERVER}:80`, 'A is the sender of the packet asked about');
  assert.deepEqual(flow.packets.map((r) => r.no), Array.from({ length: TCP_PACKETS_PER_CONNECTION }, (_, i) => PACKETS_PER_CONNECTION + 3 + i));
  assert.equal(l.setFilter(flow.conversation.filter), TCP_PACKETS_PER_CONNECTION);
  assert.equal(l.conversation(1)!.conversation.protocol, 'udp');
});

test('10,000 packets: a scroll makes only the rows in view, and the filter runs over all of them', async () => {
  const l = await list(10_000);
  assert.equal(l.total, 10_000);
  const rows = l.rows(6_000, 40);
  assert.deepEqual([rows[0]!.no, rows.at(-1)!.no], [6_001, 6_040]);
  assert.equal(l.rowsMade, 40);
  l.rows(6_020, 40);
  assert.equal(l.rowsMade, 60, 'rows already made are kept');
  assert.equal(l.setFilter('tcp.flags.fin == 1'), 2 * 500);
  assert.equal(l.rows(999, 10).length, 1, 'a range past the end is cut');
});

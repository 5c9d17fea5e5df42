import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCaptureFile } from '../../../extension/pipeline/capture-file';
import { PacketList, type ConversationPackets } from '../../../extension/pipeline/capture-file/packet-list';
import { captureContentSecurityPolicy, capturePageHtml } from '../../../extension/ui/capture-html';
import { CaptureSession } from '../../../extension/ui/capture-editor';
import { isCaptureHostMessage, isCaptureWebviewMessage, MAX_ROWS_PER_REQUEST, type CaptureHostMessage } from '../../../webview/shared/capture-protocol';
import { hexDump } from '../../../webview/capture/hex';
import { samplePcapng } from '../../support/capture-samples';

async function session(packets = 40) {
  const bytes = await samplePcapng(packets);
  const sent: CaptureHostMessage[] = [];
  const flows: ConversationPackets[] = [];
  const s = new CaptureSession({ uri: { path: '/w/x.pcapng' }, list: new PacketList(bytes, readCaptureFile(bytes)), failure: undefined }, (m) => sent.push(m), (f) => flows.push(f));
  return { s, sent, flows };
}

test('the page\'s messages are checked: unknown types, negative or oversized ranges, huge filters are refused', () => {
  assert.ok(isCaptureWebviewMessage({ type: 'rows', start: 0, count: 200 }));
  assert.ok(!isCaptureWebviewMessage({ type: 'rows', start: -1, count: 10 }));
  assert.ok(!isCaptureWebviewMessage({ type: 'rows', start: 0, count: MAX_ROWS_PER_REQUEST + 1 }));
  assert.ok(!isCaptureWebviewMessage({ type: 'select', no: 0 }));
  assert.ok(!isCaptureWebviewMessage({ type: 'filter', text: 'x'.repeat(5000) }));
  assert.ok(!isCaptureWebviewMessage({ type: 'eval', code: 'x' }));
  assert.ok(!isCaptureWebviewMessage(null));
});

test('a session answers ready, rows, filter and select with messages the page accepts; showFlow opens the flow view on the conversation', async () => {
  const { s, sent, flows } = await session();
  s.receive({ type: 'ready' });
  s.receive({ type: 'rows', start: 0, count: 5 });
  s.receive({ type: 'filter', text: 'tcp.flags.fin == 1' });
  s.receive({ type: 'filter', text: 'tcp.port ==' });
  s.receive({ type: 'select', no: 3 });
  s.receive({ type: 'select', no: 4000 });
  s.receive({ type: 'showFlow', no: 3 });
  assert.deepEqual(sent.map((m) => m.type), ['opened', 'filtered', 'rows', 'filtered', 'filterError', 'details']);
  for (const m of sent) assert.ok(isCaptureHostMessage(m), `${m.type} fits the protocol`);
  assert.equal((sent[3] as { shown: number }).shown, 4);
  assert.ok((sent[4] as { column: number }).column > 0);
  assert.equal(flows.length, 1);
  assert.equal(flows[0]!.frames.length, 18);
  assert.deepEqual(flows[0]!.frames.slice(0, 2).map((f) => [f.time, f.journey]), [[2, 3], [3, 4]]);
  assert.match(flows[0]!.frames[0]!.note ?? '', /^stage qemu_send_packet; journey 3; nat tcp/);
});

test('a file that cannot be read: the page is told why', () => {
  const sent: CaptureHostMessage[] = [];
  new CaptureSession({ uri: { path: '/w/x.pcap' }, list: undefined, failure: 'x.pcap: not a pcap or pcapng file (at byte 0)' }, (m) => sent.push(m), () => undefined).receive({ type: 'ready' });
  assert.deepEqual(sent, [{ type: 'failed', message: 'x.pcap: not a pcap or pcapng file (at byte 0)' }]);
});

test('the page\'s policy: our script by nonce, our stylesheet, nothing remote, no inline style', () => {
  const csp = captureContentSecurityPolicy('vscode-resource:', 'abc');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc'/);
  assert.doesNotMatch(csp, /unsafe-inline|https?:/);
  const html = capturePageHtml({ cspSource: 'vscode-resource:', scriptUri: 'u/capture.js', cssUri: 'u/capture.css', controlsCssUri: 'u/controls.css', title: '<x>.pcap' }, 'abc');
  assert.match(html, /<script nonce="abc" src="u\/capture.js">/);
  assert.doesNotMatch(html, /<x>/, 'the file name is escaped');
});

test('hex + ASCII: offset, two groups of eight, printable characters only', () => {
  const dump = hexDump(Uint8Array.from([...Buffer.from('GET / HTTP/1.0\r\n'), 0, 255]));
  assert.equal(dump, [
    '0000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  GET / HTTP/1.0..',
    '0010  00 ff                                             ..',
  ].join('\n'));
});

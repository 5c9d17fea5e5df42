import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logpointName, splitBreakpointName } from '../../../extension/pipeline/breakpoint-name';

test("breakpoint names: 'STAGE', 'STAGE if FILTER', and a condition field joined with &&", () => {
  assert.deepEqual(splitBreakpointName(' tcp_input '), { stage: 'tcp_input' });
  assert.deepEqual(splitBreakpointName('tcp_input', ' tcp.dstport == 80 '), { stage: 'tcp_input', condition: 'tcp.dstport == 80' });
  assert.deepEqual(splitBreakpointName('tcp_input if tcp.dstport == 8080'), { stage: 'tcp_input', condition: 'tcp.dstport == 8080' });
  assert.deepEqual(splitBreakpointName('tcp_input  if  ip.dst == 10.0.2.2 ', 'tcp.flags.syn == 1'),
    { stage: 'tcp_input', condition: '(ip.dst == 10.0.2.2) && (tcp.flags.syn == 1)' });
  assert.match(splitBreakpointName('tcp_input if').problem ?? '', /expected a condition after 'if'/);
  // 'iffy' is not the keyword: the whole name is a (wrong) stage and says so later.
  assert.deepEqual(splitBreakpointName('tcp_input iffy'), { stage: 'tcp_input iffy' });
});

test('a trailing log "MESSAGE" makes a logpoint; logpointName writes what splitBreakpointName reads', () => {
  assert.deepEqual(splitBreakpointName('udp_input log "to {udp.dstport}"'), { stage: 'udp_input', logMessage: 'to {udp.dstport}' });
  assert.deepEqual(splitBreakpointName('udp_input if udp.dstport == 67 log "DHCP"'), { stage: 'udp_input', condition: 'udp.dstport == 67', logMessage: 'DHCP' });
  const tricky = 'say "hi" \\ {ip.src}';
  const name = logpointName('ip_input', tricky, 'ip.ttl < 5');
  assert.equal(name, 'ip_input if ip.ttl < 5 log "say \\"hi\\" \\\\ {ip.src}"');
  assert.deepEqual(splitBreakpointName(name), { stage: 'ip_input', condition: 'ip.ttl < 5', logMessage: tricky });
  // An unquoted 'log' is left to the stage check, which refuses it by name.
  assert.deepEqual(splitBreakpointName('udp_input log hello'), { stage: 'udp_input log hello' });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeStop, runPromptCommand, stopHeadline, type PromptContext } from '../../../extension/cli/break-commands';
import { hexdump } from '../../../extension/cli/hexdump';
import { evaluateExpression } from '../../../extension/runtime/evaluate';
import { ProbeLocations } from '../../../extension/runtime/probe-locations';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCliTraceLine } from '../../../extension/cli/trace';
import type { StopEvent } from '../../../extension/pipeline/breakpoints';
import * as P from '../pipeline/packets';

const NAT = 'Hub -1 (user.0):\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\n  TCP[ESTABLISHED]   12       10.0.2.15 40000        10.0.2.2  8080     0     0\n';

const heldSyn: StopEvent = {
  reason: 'breakpoint',
  breakpointId: 2,
  stageChain: ['e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'tcp_input'],
  hit: {
    stage: 'tcp_input',
    frame: P.syn,
    session: { id: 7, protocol: 'tcp', state: 'SYN_SENT', guestAddr: '10.0.2.15', guestPort: 40000, hostAddr: '127.0.0.1', hostPort: 8080 },
  },
};

const heldTx: StopEvent = {
  reason: 'step',
  stageChain: ['start_xmit', 'process_tx_desc'],
  hit: { stage: 'process_tx_desc', frame: P.dhcpDiscover, descriptor: { ring: 'tx', index: 3, address: 0x1f000030, fields: { kind: 'data', length: 342, cmd: 0x2b } } },
};

/** The prompt's context as the runtime gives it: the Debug Console's evaluator over the held packet. */
function ctx(stop: StopEvent | undefined, nat: string | null = NAT): PromptContext {
  return {
    stop,
    evaluate: (expression) => evaluateExpression(expression, { hit: stop?.hit, infoUsernet: () => nat ?? undefined }).result,
    breakpoints: () => [{ id: 2, text: 'tcp_input if tcp.flags.syn == 1', hits: 1 }],
    locate: (stage) => {
      const site = LOCATIONS.of(stage);
      return site && `${site.file}:${site.line}`;
    },
  };
}

/** The probe sites of this source tree, as the debugger's call stack finds them. */
const LOCATIONS = ProbeLocations.load(__dirname);

test('bt shows the stage chain innermost first, each stage at the source line of its probe', () => {
  const out = runPromptCommand('bt', ctx(heldSyn)).output!;
  const lines = out.split('\n');
  assert.deepEqual(lines.map((l) => /^#(\d+)  (\w+)/.exec(l)!.slice(1).join(' ')), [
    '0 tcp_input', '1 ip_input', '2 slirp_input', '3 net_slirp_receive', '4 qemu_send_packet', '5 e1000_send_packet',
  ]);
  assert.match(lines[0]!, /: 10\.0\.2\.15:40000 -> 10\.0\.2\.2:8080 TCP \[SYN\]/);
  for (const line of lines) {
    const [, stage, file, n] = /^#\d+  (\w+) at (\S+):(\d+)/.exec(line)!;
    const source = readFileSync(join(LOCATIONS.root!, file!), 'utf8').split('\n')[Number(n) - 1]!;
    assert.match(source, new RegExp(`probes\\.(probes\\.)?${stage}\\b`), `${file}:${n} is the probe of ${stage}`);
  }
  assert.equal(runPromptCommand('where', ctx(heldSyn)).output, out);
  assert.deepEqual(runPromptCommand('bt', ctx(undefined)), { error: 'no packet is held' });
});

test('print and p read a field of the held packet, or answer a filter', () => {
  assert.deepEqual(runPromptCommand('print tcp.dstport', ctx(heldSyn)), { output: 'tcp.dstport = 8080' });
  assert.deepEqual(runPromptCommand('p ip.src', ctx(heldSyn)), { output: 'ip.src = 10.0.2.15' });
  assert.deepEqual(runPromptCommand('p tcp.port', ctx(heldSyn)), { output: 'tcp.port = [40000, 8080]' });
  assert.deepEqual(runPromptCommand('p session.state', ctx(heldSyn)), { output: 'session.state = SYN_SENT' });
  assert.deepEqual(runPromptCommand('p tcp.flags.syn == 1 && ip.dst == 10.0.2.2', ctx(heldSyn)), { output: 'tcp.flags.syn == 1 && ip.dst == 10.0.2.2 = true' });
  assert.deepEqual(runPromptCommand('p e1000.index', ctx(heldTx)), { output: 'e1000.index = 3' });
});

test('print explains unknown fields, absent fields, bad filters and a missing packet', () => {
  assert.match(runPromptCommand('p tcp.dstprot', ctx(heldSyn)).error!, /unknown field 'tcp\.dstprot' \(did you mean 'tcp\.dstport'\?\)/);
  assert.match(runPromptCommand('p udp.dstport', ctx(heldSyn)).error!, /this packet has no udp\.dstport/);
  assert.match(runPromptCommand('p tcp.port ==', ctx(heldSyn)).error!, /at column \d+/);
  assert.match(runPromptCommand('print', ctx(heldSyn)).error!, /print what\?/);
  assert.match(runPromptCommand('p tcp.port', ctx(undefined)).error!, /needs a packet/);
});

test('info shows stage, chain, summary, descriptor and session', () => {
  const out = runPromptCommand('info', ctx(heldSyn)).output!;
  assert.match(out, /^stage: +tcp_input$/m);
  assert.match(out, /^stage chain: e1000_send_packet > qemu_send_packet > net_slirp_receive > slirp_input > ip_input > tcp_input$/m);
  assert.match(out, /^summary: +10\.0\.2\.15:40000 -> 10\.0\.2\.2:8080 TCP \[SYN\] seq=0 len=0 \(\d+ bytes\)$/m);
  assert.match(out, /^descriptor: +\(none at this stage\)$/m);
  assert.match(out, /^session: +#7 TCP SYN_SENT guest 10\.0\.2\.15:40000 host 127\.0\.0\.1:8080$/m);
  assert.equal(runPromptCommand('i', ctx(heldSyn)).output, out);
  assert.match(describeStop(heldTx), /^descriptor: +TX #3 at 0x1f000030 kind=data length=342 cmd=0x2b$/m);
  assert.match(describeStop(heldTx), /^session: +\(none\)$/m);
  assert.deepEqual(runPromptCommand('info', ctx(undefined)), { error: 'no packet is held' });
});

test('info usernet and info breakpoints', () => {
  assert.deepEqual(runPromptCommand('info usernet', ctx(heldSyn)), { output: NAT.trimEnd() });
  assert.match(runPromptCommand('info usernet', ctx(heldSyn, null)).error!, /no user-mode network/);
  assert.match(runPromptCommand('info breakpoints', ctx(heldSyn)).output!, /^2 +1  tcp_input if tcp\.flags\.syn == 1$/m);
  assert.match(runPromptCommand('info registers', ctx(heldSyn)).error!, /unknown info command 'registers'/);
});

test('x dumps the held frame in hex and ASCII', () => {
  const out = runPromptCommand('x', ctx(heldSyn)).output!;
  const lines = out.split('\n');
  assert.equal(lines.length, Math.ceil(P.syn.length / 16));
  assert.match(lines[0]!, /^0000  52 55 0a 00 02 02 52 54  00 12 34 56 08 00 45 00  RU\.\.\.\.RT\.\.4V\.\.E\.$/);
  assert.equal(hexdump(Uint8Array.of(0x41, 0x0a, 0x7e)), '0000  41 0a 7e                                          A.~');
  assert.match(hexdump(new Uint8Array(40), 32), /\n… 8 more bytes$/);
});

test('execution commands only name their action; unknown words are errors', () => {
  for (const [words, action] of [[['continue', 'c'], 'continue'], [['next', 'n', 'step', 's'], 'step'], [['delete', 'd'], 'delete'], [['quit', 'q'], 'quit']] as const) {
    for (const w of words) assert.deepEqual(runPromptCommand(` ${w} `, ctx(heldSyn)), { action }, w);
  }
  assert.deepEqual(runPromptCommand('', ctx(heldSyn)), {});
  assert.deepEqual(runPromptCommand('frobnicate now', ctx(heldSyn)), { error: "unknown command 'frobnicate': try 'help'" });
  assert.match(runPromptCommand('help', ctx(heldSyn)).output!, /print F, p F/);
});

test('stop headlines and trace lines', () => {
  assert.equal(stopHeadline(heldSyn), 'Breakpoint 2, tcp_input: 10.0.2.15:40000 -> 10.0.2.2:8080 TCP [SYN] seq=0 len=0');
  assert.match(stopHeadline(heldTx), /^Step, process_tx_desc: DHCP/);
  assert.equal(formatCliTraceLine(12.3456, heldSyn.hit), '    12.346 ms  tcp_input  10.0.2.15:40000 -> 10.0.2.2:8080 TCP [SYN] seq=0 len=0');
  assert.equal(formatCliTraceLine(0, { stage: 'e1000_mmio_write', frame: new Uint8Array(0), register: { offset: 0x3818, value: 5, write: true } }),
    '     0.000 ms  e1000_mmio_write  MMIO write 0x3818 = 0x00000005');
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { checkCaptureFile, formatCaptureStats } from '../../../extension/cli/capture';
import { parseBreakSpec, parsePipelineOptions } from '../../../extension/cli/pipeline-options';
import { UsageError } from '../../../extension/cli/usage-error';

const usageError = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof UsageError && message.test(e.message) && !e.message.includes('\n'));

test('no pipeline option: an empty plan', () => {
  assert.deepEqual(parsePipelineOptions({}), { traces: [], breaks: [], netem: { rules: [] } });
});

test('--pcap with filter and snap length', () => {
  const plan = parsePipelineOptions({ pcap: 'out.pcap', 'capture-filter': 'tcp.port == 80 || dns', snaplen: '128' });
  assert.deepEqual(plan.capture, { file: 'out.pcap', filter: 'tcp.port == 80 || dns', snaplen: 128 });
  assert.deepEqual(parsePipelineOptions({ pcap: 'out.pcap', 'capture-filter': '  ' }).capture, { file: 'out.pcap' });
});

test('capture options are checked before anything boots', () => {
  usageError(() => parsePipelineOptions({ 'capture-filter': 'tcp' }), /^--capture-filter needs --pcap FILE$/);
  usageError(() => parsePipelineOptions({ snaplen: '64' }), /^--snaplen needs --pcap FILE$/);
  for (const bad of ['0', '-5', '1.5', 'lots', '262145']) {
    usageError(() => parsePipelineOptions({ pcap: 'x.pcap', snaplen: bad }), new RegExp(`--snaplen expects .* got '${bad.replace('.', '\\.')}'`));
  }
  usageError(() => parsePipelineOptions({ pcap: 'x.pcap', 'capture-filter': 'tcp.port == ' }), /^--capture-filter 'tcp\.port == ': expected a value .* at column 13$/);
  usageError(() => parsePipelineOptions({ pcap: 'x.pcap', 'capture-filter': 'tcp.prot == 80' }), /unknown field 'tcp\.prot' \(did you mean 'tcp\.port'\?\) at column 1/);
});

test('--trace: stage names are checked with a suggestion, conditions with their column in the whole spec', () => {
  assert.deepEqual(parsePipelineOptions({ trace: ['*', 'udp_input if udp.dstport == 67'] }).traces, ['*', 'udp_input if udp.dstport == 67']);
  usageError(() => parsePipelineOptions({ trace: ['udp_inptu'] }), /^--trace 'udp_inptu': unknown stage 'udp_inptu' \(did you mean 'udp_input'\?\)$/);
  usageError(() => parsePipelineOptions({ trace: ['udp_input if udp.dstport =='] }), /at column 28$/);
  usageError(() => parsePipelineOptions({ trace: ['udp_input when udp'] }), /expected 'if' after the stage/);
});

test('--break: STAGE or STAGE if EXPR, one stage each', () => {
  assert.deepEqual(parseBreakSpec('tcp_input'), { text: 'tcp_input', stage: 'tcp_input' });
  assert.deepEqual(parseBreakSpec('  udp_input  if udp.dstport == 67 && ip.dst == 255.255.255.255 '),
    { text: 'udp_input  if udp.dstport == 67 && ip.dst == 255.255.255.255', stage: 'udp_input', condition: 'udp.dstport == 67 && ip.dst == 255.255.255.255' });
  usageError(() => parseBreakSpec('*'), /needs one stage name/);
  usageError(() => parseBreakSpec('tcp_inptu if tcp'), /^--break 'tcp_inptu if tcp': unknown stage 'tcp_inptu' \(did you mean 'tcp_input'\?\)$/);
  usageError(() => parseBreakSpec('tcp_input if'), /expected a condition after 'if'/);
  usageError(() => parseBreakSpec('tcp_input if tcp.flags.syn = = 1'), /at column \d+$/);
  assert.equal(parsePipelineOptions({ break: ['tcp_input', 'sosend if tcp.port == 80'] }).breaks.length, 2);
});

test('--journey, --drops and --json: the filter is checked before anything boots; --json needs one of the others', () => {
  assert.deepEqual(parsePipelineOptions({ journey: 'icmp', json: true }).journeys, { journey: 'icmp', drops: false, json: true });
  assert.deepEqual(parsePipelineOptions({ drops: true }).journeys, { drops: true, json: false });
  assert.deepEqual(parsePipelineOptions({ journey: '' }).journeys, { journey: '', drops: false, json: false });
  usageError(() => parsePipelineOptions({ journey: 'tcp.prot == 80' }), /^--journey 'tcp\.prot == 80': unknown field 'tcp\.prot' \(did you mean 'tcp\.port'\?\)/);
  usageError(() => parsePipelineOptions({ json: true }), /^--json needs --journey FILTER or --drops$/);
});

test('the capture file is created up front; a path that cannot be is a usage error that says why', () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-cli-'));
  try {
    checkCaptureFile(join(dir, 'ok.pcap'));
    assert.equal(readFileSync(join(dir, 'ok.pcap')).length, 0);
    usageError(() => checkCaptureFile(join(dir, 'missing', 'x.pcap')), /cannot create .*: its directory does not exist/);
    usageError(() => checkCaptureFile(dir), /it is a directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('capture counts read as a sentence', () => {
  assert.equal(formatCaptureStats('a.pcap', { captured: 1, filtered: 2, truncated: 0, dropped: 0, bytes: 100 }), 'capture a.pcap: 1 frame captured, 2 filtered, 0 truncated');
  assert.match(formatCaptureStats('a.pcap', { captured: 9, filtered: 0, truncated: 3, dropped: 4, bytes: 1, error: 'EIO' }), /9 frames captured, 0 filtered, 3 truncated, 4 dropped .*; writing failed: EIO$/);
});

test('the CLI itself: bad arguments exit 2 with one line and no stack trace, before any boot', () => {
  const cli = resolve(__dirname, '../../../extension/cli.ts');
  const cases: Array<[string[], RegExp]> = [
    [['run', '--trace', 'bogus'], /^usernet: --trace 'bogus': unknown stage 'bogus'\n$/],
    [['run', '--break', 'udp_input if udp.dstport =='], /^usernet: --break .* at column 28\n$/],
    [['sessions', '--pid', 'abc'], /^usernet: --pid expects a process id, got 'abc'\n$/],
  ];
  for (const [args, stderr] of cases) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', env: { ...process.env, USERNET_DEBUG: '' } });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

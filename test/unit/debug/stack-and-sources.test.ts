import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { buildStackFrames } from '../../../extension/debug/stack-frames';
import { ProbeLocations, scanProbeSites } from '../../../extension/runtime/probe-locations';
import { SourceStore } from '../../../extension/debug/source-store';

const ROOT = resolve(__dirname, '../../..');
const CHAIN = ['qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'udp_input'] as const;

test('every probe site found in the source really names its stage on that line', () => {
  const sites = scanProbeSites(ROOT);
  assert.ok(sites.length >= 10, `found ${sites.length} probe sites`);
  for (const s of sites) {
    const line = readFileSync(join(ROOT, s.file), 'utf8').split('\n')[s.line - 1]!;
    assert.match(line, new RegExp(`probes\\.(probes\\.)?${s.stage}\\b`), `${s.file}:${s.line}`);
  }
  const stages = new Set(sites.map((s) => s.stage));
  for (const st of ['slirp_input', 'udp_input', 'qemu_send_packet'] as const) assert.ok(stages.has(st), `${st} has a probe site`);
});

test('the build script and the runtime scan agree', () => {
  const out = mkdtempSync(join(tmpdir(), 'usernet-probes-'));
  // The script runs under plain Node at build time: load it the same way, in its own process.
  const script = `import('${join(ROOT, 'scripts/probe-locations.mjs')}').then(m => process.stdout.write(JSON.stringify(m.scanProbeSites(process.argv[1]))))`;
  const fromScript = JSON.parse(execFileSync(process.execPath, ['-e', script, ROOT], { cwd: out, encoding: 'utf8' }));
  assert.deepEqual(fromScript, scanProbeSites(ROOT));
});

test('stack frames run innermost first, point at the probe line in our TypeScript, and carry the summary on top', () => {
  const locations = new ProbeLocations(scanProbeSites(ROOT), ROOT);
  const { frames, packetFrames } = buildStackFrames(CHAIN, '0.0.0.0:68 -> 255.255.255.255:67 DHCP Discover', locations, new SourceStore(ROOT, undefined), 5000);
  assert.deepEqual(frames.map((f) => f.name.split(':')[0]), ['udp_input', 'ip_input', 'slirp_input', 'net_slirp_receive', 'qemu_send_packet']);
  assert.equal(frames[0]!.name, 'udp_input: 0.0.0.0:68 -> 255.255.255.255:67 DHCP Discover');
  assert.deepEqual(frames.map((f) => f.id), [5000, 5001, 5002, 5003, 5004]);
  assert.deepEqual(packetFrames.map((f) => f.depth), [0, 1, 2, 3, 4]);
  const top = frames[0]!;
  assert.ok(top.source?.path?.endsWith('.ts'));
  const line = readFileSync(top.source!.path!, 'utf8').split('\n')[top.line - 1]!;
  assert.match(line, /probes\.udp_input/);
});

test('a stage with no probe in this build is shown without a source', () => {
  const locations = new ProbeLocations([], ROOT);
  const { frames } = buildStackFrames(['set_ics'], '', locations, new SourceStore(ROOT, undefined), 1);
  assert.equal(frames[0]!.source, undefined);
  assert.equal(frames[0]!.presentationHint, 'subtle');
  assert.equal(frames[0]!.line, 0);
});

test('without the source tree, sources come from the bundle source map by reference', () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-map-'));
  const map = join(dir, 'adapter.js.map');
  writeFileSync(map, JSON.stringify({
    version: 3,
    sources: ['../extension/slirp/slirp.ts', '../node_modules/x/index.js'],
    sourcesContent: ['export class Slirp {}\n', 'module.exports = 1;\n'],
    mappings: '',
  }));
  const store = new SourceStore(undefined, map);
  const src = store.source('extension/slirp/slirp.ts');
  assert.equal(src?.path, undefined);
  assert.equal(src?.name, 'slirp.ts');
  assert.ok(src?.sourceReference && src.sourceReference > 0);
  assert.equal(store.content(src!.sourceReference!), 'export class Slirp {}\n');
  assert.equal(store.source('extension/e1000/rx.ts'), undefined);
  assert.equal(store.content(99), undefined);
});

test('probe locations load from the JSON the build writes, else from a scan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-loc-'));
  writeFileSync(join(dir, 'probe-locations.json'), JSON.stringify({ sites: [{ stage: 'tcp_input', file: 'extension/x.ts', line: 7 }, { stage: 'nope', file: 'a', line: 1 }] }));
  const fromJson = ProbeLocations.load(dir);
  assert.deepEqual(fromJson.of('tcp_input'), { stage: 'tcp_input', file: 'extension/x.ts', line: 7 });
  assert.equal(fromJson.sites.length, 1);
  const scanned = ProbeLocations.load(join(ROOT, 'extension/debug'));
  assert.equal(scanned.root, ROOT);
  assert.ok(scanned.of('slirp_input'));
});

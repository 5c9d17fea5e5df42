import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, FlowTotals, type TopologyModel } from '../../../extension/runtime/topology-model';
import { topologyContentSecurityPolicy, topologyPageHtml } from '../../../extension/ui/topology-html';
import { isTopologyHostMessage, isTopologyWebviewMessage, MAX_EXPORT_CHARS } from '../../../webview/shared/topology-protocol';
import { exportableSvg, formatBytes, renderTopologySvg, resolvedCss } from '../../../webview/topology/render';

const model = (): TopologyModel => buildTopology({
  name: 'VM <one>',
  state: { state: 'running', guestAddress: '10.0.2.15' },
  topology: {
    engine: 'embedded', guestMac: '52:54:00:12:34:56', mtu: 1500, net: '10.0.2.0/24', gateway: '10.0.2.2', dns: '10.0.2.3',
    restrict: false, hostLoopback: true, guestForwards: [], link: { framesToHost: 12, bytesToHost: 2048, framesToGuest: 3, bytesToGuest: 300 },
  },
  sessions: [],
  forwards: [{ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 2222, guestAddr: '', guestPort: 22 }],
  drops: [{ stage: 'dns_input', reason: 'dns-malformed', count: 4 }],
  conditions: { seed: 1, rules: [{ id: 1, text: 'ip_input: delay 300ms', stage: 'ip_input', counters: {} }] },
}, new FlowTotals());

test('the SVG has one clickable group per part, the guest address, live counters, drop and netem badges and the forward', () => {
  const svg = renderTopologySvg(model());
  for (const id of ['guest', 'nic', 'wire', 'gateway', 'dns', 'nat', 'resolver', 'host']) assert.match(svg, new RegExp(`data-part="${id}"`));
  assert.match(svg, />eth0 10\.0\.2\.15</);
  assert.match(svg, /data-counter="toHost">↓ 12 pkt · 2\.0 kB</);
  assert.match(svg, /data-counter="toGuest">↑ 3 pkt · 300 B</);
  assert.match(svg, /✕ 4 dropped/);
  assert.match(svg, /netem 1/);
  assert.match(svg, /<g class="part forward" data-part="hostfwd-0" tabindex="0" role="button"[^>]*><title>[^<]*<\/title><rect class="hit"[^>]*\/><text[^>]*>↑ hostfwd tcp 127\.0\.0\.1:2222 → 10\.0\.2\.15:22<\/text><\/g>/, 'each forward is clickable');
  assert.match(svg, /Network topology of VM &#60;one&#62;/, 'text is escaped');
  assert.doesNotMatch(svg, /<style>/, 'the live page styles it by class');
});

test('routine drops get a quiet badge of their own, and the tooltip says they are no fault', () => {
  const m = model();
  const gateway = m.parts.find((p) => p.id === 'gateway')!;
  Object.assign(gateway, { routine: 6, dropLines: ['icmp6_input: mld-report ×6 (routine: …)'] });
  const svg = renderTopologySvg(m);
  const group = /<g [^>]*data-part="gateway"[\s\S]*?<\/g><\/g>/.exec(svg)?.[0] ?? '';
  assert.match(group, /<g class="routine"><rect[^>]*\/><text[^>]*>6 routine<\/text>/);
  assert.doesNotMatch(group, /dropped/);
  assert.match(group, /6 routine drops, no fault:\n  icmp6_input: mld-report ×6/);
});

test('an exported SVG carries the theme colours resolved, and stays well-formed', () => {
  const colours: Record<string, string> = { '--vscode-foreground': '#123456', '--vscode-editor-background': '#fefefe' };
  const svg = exportableSvg(model(), (name) => colours[name] ?? '');
  assert.match(svg, /^<\?xml/);
  assert.match(svg, /<style>[^<]*fill: #123456/);
  assert.match(svg, /<rect width="560" height="\d+" fill="#fefefe"\/>/);
  assert.doesNotMatch(svg, /var\(--/, 'nothing left for a viewer outside VS Code to resolve');
  assert.match(resolvedCss(() => ''), /fill: #cccccc/, 'fallbacks when the theme says nothing');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1_500_000), '1.5 MB');
});

test('the page allows only its nonce script, its own styles and blob: images', () => {
  const csp = topologyContentSecurityPolicy('vscode-resource:', 'abc');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc'/);
  assert.match(csp, /img-src vscode-resource: blob:/);
  assert.doesNotMatch(csp, /unsafe-eval|https?:/);
  const html = topologyPageHtml({ cspSource: 'vscode-resource:', scriptUri: 'x.js"><script>', cssUri: 'y.css', controlsCssUri: 'c.css' }, 'abc');
  assert.match(html, /<script nonce="abc" src="x.js&#34;&#62;&#60;script&#62;">/);
});

test('messages from the page are checked: known parts and actions, bounded exports', () => {
  assert.ok(isTopologyWebviewMessage({ type: 'ready' }));
  assert.ok(isTopologyWebviewMessage({ type: 'action', part: 'dns', action: 'conditions' }));
  assert.ok(isTopologyWebviewMessage({ type: 'action', part: 'hostfwd-0', action: 'break' }));
  assert.ok(isTopologyWebviewMessage({ type: 'action', part: 'guestfwd-12', action: 'capture' }));
  assert.ok(!isTopologyWebviewMessage({ type: 'action', part: 'hostfwd-', action: 'break' }));
  assert.ok(!isTopologyWebviewMessage({ type: 'action', part: 'hostfwd-1; x', action: 'break' }));
  assert.ok(!isTopologyWebviewMessage({ type: 'action', part: 'dns; rm -rf', action: 'conditions' }));
  assert.ok(!isTopologyWebviewMessage({ type: 'action', part: 'dns', action: 'eval' }));
  assert.ok(isTopologyWebviewMessage({ type: 'export', format: 'svg', data: '<svg/>' }));
  assert.ok(!isTopologyWebviewMessage({ type: 'export', format: 'svg', data: 'hello' }));
  assert.ok(isTopologyWebviewMessage({ type: 'export', format: 'png', data: 'data:image/png;base64,AAAA' }));
  assert.ok(!isTopologyWebviewMessage({ type: 'export', format: 'png', data: 'data:text/html,<b>' }));
  assert.ok(!isTopologyWebviewMessage({ type: 'export', format: 'svg', data: `<svg${' '.repeat(MAX_EXPORT_CHARS)}` }));
  assert.ok(!isTopologyWebviewMessage(null));
});

test('models from the extension are checked before they are drawn', () => {
  const m = model();
  assert.ok(isTopologyHostMessage({ type: 'model', model: m }));
  assert.ok(isTopologyHostMessage({ type: 'empty', message: 'No VM' }));
  assert.ok(!isTopologyHostMessage({ type: 'model', model: { ...m, parts: [{ ...m.parts[0], id: 'router' }] } }));
  assert.ok(!isTopologyHostMessage({ type: 'model', model: { ...m, parts: [{ ...m.parts[0], toHost: { frames: 'many' } }] } }));
  assert.ok(!isTopologyHostMessage({ type: 'model', model: { ...m, forwards: [{ ...m.forwards[0], kind: 'portal' }] } }));
  assert.ok(!isTopologyHostMessage({ type: 'model', model: { ...m, forwards: [{ ...m.forwards[0], id: 'router' }] } }));
});

/**
 * The topology view, live: launch the VM, open "Usernet: Show Topology" beside
 * the serial console, lease an address with udhcpc and see it on the guest,
 * ping and see the guest link's counter move; then network conditions from
 * the picture: "Simulate Conditions…" on the gateway sets `delay 300ms` on its
 * replies, the status bar shows it, ping's round trips take the delay, and
 * removing it from the status bar takes the item away. A boot leaves no red
 * drop badge (the guest's DAD and MLD reports are routine). A hostfwd rule
 * added meanwhile is a row of its own: Show its NAT sessions filters to it,
 * Capture captures only its packets (tshark reads them back), Break on it
 * stops the VM at ip_output when the host connects. Real code-server in
 * real Chromium (test/support/vscode-e2e.ts); screenshots of every step go to
 * test-results/e2e/topology/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { e2eSkipReason, expectPromptAfter, expectText, openPane, openWorkbench, PROMPT, runCommand } from '../support/vscode-e2e';

const skip = e2eSkipReason() ?? (spawnSync('tshark', ['--version']).error ? 'tshark not installed: apt-get install tshark' : undefined);
const DELAY_MS = 300;
const GUEST_PORT = 7777;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** Connects to a loopback port and resolves with what arrives until the peer closes (or 60 s pass). */
function readFrom(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.setTimeout(60_000, () => socket.destroy(new Error(`nothing more from port ${port} within 60 s; got: ${text}`)));
    socket.on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

/** The webview document that has `selector` (the console and the topology are both on screen). */
async function frameWith(page: Page, selector: string, timeout = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeout;
  for (;;) {
    for (const f of page.frames()) if (await f.locator(selector).count().catch(() => 0)) return f;
    if (Date.now() > deadline) throw new Error(`no webview shows ${selector}`);
    await page.waitForTimeout(500);
  }
}

/** Waits until an SVG part's text (SVG has no innerText) includes `text`. */
async function expectSvgText(frame: Frame, part: string, text: string, timeout: number): Promise<string> {
  const where = frame.locator(`[data-part="${part}"]`);
  const deadline = Date.now() + timeout;
  for (;;) {
    const now = (await where.textContent().catch(() => '')) ?? '';
    if (now.includes(text)) return now;
    if (Date.now() > deadline) throw new Error(`"${text}" did not appear on ${part} within ${timeout / 1000} s; it reads: ${now}`);
    await frame.page().waitForTimeout(250);
  }
}

/** The round-trip times ping printed after the last echo of `command`. */
function pingTimes(screen: string, command: string): number[] {
  const after = screen.slice(screen.lastIndexOf(command));
  return [...after.matchAll(/time=(\d+(?:\.\d+)?) ?ms/g)].map((m) => Number(m[1]));
}

test('VS Code: the topology shows the leased guest and moving counters; Simulate Conditions… on it delays pings; a hostfwd rule\'s row captures, breaks on and filters its own traffic', { skip, timeout: 15 * 60_000 }, async (t) => {
  const { page, step, log, softFailures, workspace, shots } = await openWorkbench(t, 'topology');

  await step('Usernet: Launch VM, the console shows the prompt', async () => {
    await runCommand(page, 'Usernet: Launch VM');
    await page.locator('.debug-toolbar').waitFor({ timeout: 60_000 });
    const console = await frameWith(page, '.xterm-rows', 120_000);
    await expectText(console.locator('.xterm-rows'), PROMPT.trim(), 300_000);
  });

  const consoleDoc = await frameWith(page, '.xterm-rows');
  const rows = consoleDoc.locator('.xterm-rows');
  const type = async (line: string) => {
    await consoleDoc.locator('.xterm-screen').click();
    await page.keyboard.type(line, { delay: 15 });
    await page.keyboard.press('Enter');
  };

  let topo!: Frame;
  await step('Usernet: Show Topology opens the picture beside the console', async () => {
    await runCommand(page, 'Usernet: Show Topology');
    topo = await frameWith(page, '#diagram svg [data-part="guest"]');
    await expectSvgText(topo, 'gateway', 'Gateway 10.0.2.2', 10_000);
    await expectSvgText(topo, 'dns', 'DNS 10.0.2.3', 10_000);
  });

  await step('after udhcpc the guest node shows 10.0.2.15 and its MAC', async () => {
    await type('udhcpc -i eth0 -q -n');
    await expectPromptAfter(rows, 'udhcpc -i eth0 -q -n', 120_000);
    const guest = await expectSvgText(topo, 'guest', 'eth0 10.0.2.15', 10_000);
    assert.match(guest, /MAC 52:54:00:12:34:56/);
  });

  await step("a plain boot leaves no red drop badge: the guest's DAD and MLD reports are routine", async () => {
    const gateway = await expectSvgText(topo, 'gateway', 'Gateway 10.0.2.2', 10_000);
    log.push(`gateway after boot: ${gateway}`);
    assert.doesNotMatch(gateway, /✕ \d+ dropped/);
  }, { soft: true });

  const counter = topo.locator('[data-part="wire"] [data-counter="toHost"]');
  const framesOf = (text: string) => Number(/↓ (\d+) pkt/.exec(text)?.[1] ?? NaN);

  await step('a ping moves the guest link\'s counter', async () => {
    const before = framesOf(await counter.textContent() ?? '');
    log.push(`wire toHost before ping: ${before}`);
    assert.ok(Number.isFinite(before), 'the counter reads as a number');
    await type('ping -c 3 10.0.2.2');
    await expectPromptAfter(rows, 'ping -c 3 10.0.2.2', 30_000);
    const deadline = Date.now() + 10_000;
    let after = before;
    while (after < before + 3 && Date.now() < deadline) {
      await page.waitForTimeout(250);
      after = framesOf(await counter.textContent() ?? '');
    }
    log.push(`wire toHost after ping: ${after}`);
    assert.ok(after >= before + 3, `three echo requests crossed the link: ${before} -> ${after}`);
  });

  await step(`Simulate Conditions… on the gateway: delay ${DELAY_MS}ms on its replies`, async () => {
    await topo.locator('[data-part="gateway"] rect.box').click();
    await topo.locator('#menu button', { hasText: 'Simulate Conditions…' }).click();
    const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'From 10.0.2.2 to the guest' }).first();
    await pick.waitFor({ timeout: 10_000 });
    await pick.click();
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await page.waitForFunction(() => (document.querySelector('.quick-input-widget .quick-input-box input') as HTMLInputElement | null)?.value.startsWith('ip_output'));
    assert.equal(await box.inputValue(), 'ip_output if ip.src == 10.0.2.2: loss 5%', 'the rule starts at the gateway\'s replies');
    // The actions are selected: typing replaces them.
    await page.keyboard.type(`delay ${DELAY_MS}ms`);
    await page.keyboard.press('Enter');
    await page.locator('.statusbar-item', { hasText: 'netem 1' }).first().waitFor({ timeout: 10_000 });
    await expectSvgText(topo, 'gateway', 'netem 1', 10_000);
  });

  await step(`ping's round trips take at least ${DELAY_MS} ms`, async () => {
    // Not the earlier ping's text: its prompt must not be taken for this one's.
    const ping = 'ping -c 3 -W 5 10.0.2.2';
    await type(ping);
    await expectPromptAfter(rows, ping, 60_000);
    const times = pingTimes(await rows.innerText(), ping);
    log.push(`ping times with the delay: ${times.join(', ')} ms`);
    assert.equal(times.length, 3, 'three replies came back');
    for (const ms of times) assert.ok(ms >= DELAY_MS, `a reply took ${ms} ms, under the ${DELAY_MS} ms delay`);
  });

  await step('the status-bar item removes the conditions, and it goes', async () => {
    await page.locator('.statusbar-item', { hasText: 'netem 1' }).first().click();
    const all = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Remove them all' }).first();
    await all.waitFor({ timeout: 10_000 });
    await all.click();
    await page.locator('.statusbar-item', { hasText: 'netem 1' }).waitFor({ state: 'detached', timeout: 10_000 });
    await topo.locator('[data-part="gateway"] .netem').waitFor({ state: 'detached', timeout: 10_000 });
  });

  await step('Show its NAT sessions on DNS filters the NAT Sessions view', async () => {
    await topo.locator('[data-part="dns"] rect.box').click();
    await topo.locator('#menu button', { hasText: 'Show its NAT sessions' }).click();
    const pane = await openPane(page, 'NAT Sessions');
    await pane.locator('.pane-header', { hasText: 'filter: ip.addr == 10.0.2.3' }).waitFor({ timeout: 10_000 });
  }, { soft: true });

  // A hostfwd rule is a part too: each of its actions, clicked on its row under the host.
  const hostPort = await freePort();
  const rule = `tcp.dstport == ${GUEST_PORT} && ip.dst == 10.0.2.15`;
  const capture = join(workspace, 'hostfwd.pcapng');
  const menuOn = async (part: string, action: string) => {
    await topo.locator(`[data-part="${part}"]`).click();
    await topo.locator('#menu button', { hasText: action }).click();
  };

  await step(`Add Port Forward: its row shows under the host, clickable`, async () => {
    await type(`(echo hello-from-guest | nc -l -p ${GUEST_PORT}) &`);
    await runCommand(page, 'Usernet: Add Port Forward');
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.waitFor({ state: 'visible', timeout: 10_000 });
    await box.fill(`tcp:127.0.0.1:${hostPort}-:${GUEST_PORT}`);
    await page.keyboard.press('Enter');
    await expectSvgText(topo, 'hostfwd-0', `hostfwd tcp 127.0.0.1:${hostPort} → 10.0.2.15:${GUEST_PORT}`, 15_000);
  });

  await step('Show its NAT sessions on the rule filters the view to its connections', async () => {
    await menuOn('hostfwd-0', 'Show its NAT sessions');
    const pane = await openPane(page, 'NAT Sessions');
    await pane.locator('.pane-header', { hasText: `filter: ${rule}` }).waitFor({ timeout: 10_000 });
  }, { soft: true });

  await step('Capture its traffic… on the rule starts a capture filtered to it', async () => {
    await menuOn('hostfwd-0', 'Capture its traffic…');
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.waitFor({ state: 'visible', timeout: 10_000 });
    await box.fill(capture);
    await page.keyboard.press('Enter');
    await page.locator('.notifications-toasts', { hasText: `filter: tcp.port == ${GUEST_PORT} && ip.addr == 10.0.2.15` }).first().waitFor({ timeout: 10_000 });
  });

  let greeting!: Promise<string>;
  await step("Break on it on the rule: the host's connection stops the VM at ip_output", async () => {
    await menuOn('hostfwd-0', 'Break on it');
    await page.locator('.notifications-toasts', { hasText: `breakpoint on ip_output if ${rule}` }).first().waitFor({ timeout: 10_000 });
    greeting = readFrom(hostPort);
    await page.locator('.debug-toolbar .codicon-debug-continue').waitFor({ timeout: 60_000 });
    const stack = await openPane(page, 'Call Stack');
    await stack.locator('.monaco-list-row', { hasText: 'ip_output' }).first().waitFor({ timeout: 30_000 });
  });

  await step('remove the breakpoint and continue: the host reads the guest\'s greeting through the rule', async () => {
    const pane = await openPane(page, 'Breakpoints');
    await pane.locator('.pane-header').hover();
    await pane.locator('.pane-header .action-label[aria-label="Remove All Breakpoints"]').click();
    await page.locator('.debug-toolbar .codicon-debug-continue').click();
    await page.locator('.debug-toolbar .codicon-debug-pause').waitFor({ timeout: 30_000 });
    assert.match(await greeting, /hello-from-guest/);
    // The stop opened our source beside: bring the picture back.
    await page.locator('.tabs-container .tab', { hasText: 'Usernet Topology' }).click();
    topo = await frameWith(page, '#diagram svg [data-part="guest"]');
  });

  await step('a ping meanwhile, then Stop Capture: only the rule\'s packets were captured', async () => {
    await page.locator('.tabs-container .tab', { hasText: 'Serial: Usernet VM' }).click();
    await type('ping -c 2 10.0.2.2');
    await expectPromptAfter(rows, 'ping -c 2 10.0.2.2', 30_000);
    await page.locator('.tabs-container .tab', { hasText: 'Usernet Topology' }).click();
    topo = await frameWith(page, '#diagram svg [data-part="guest"]');
    await runCommand(page, 'Usernet: Stop Capture');
    const toast = page.locator('.notifications-toasts', { hasText: /captured \d+ packets/ }).first();
    await toast.waitFor({ timeout: 10_000 });
    const told = await toast.innerText();
    const captured = Number(/captured (\d+) packets/.exec(told)?.[1]);
    // The file the capture went to, as the toast names it (the save dialog may have completed the name typed).
    const file = /packets to (\S+)\./.exec(told)?.[1] ?? capture;
    log.push(`captured on the rule: ${captured} to ${file}`);
    assert.ok(captured >= 6, `the connection's handshake, data and teardown: ${captured} packets`);
    // The capture is written out before the toast says how many packets it holds.
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'tcp.port', '-e', 'icmp.type'], { encoding: 'utf8' });
    const lines = r.stdout.split('\n').filter(Boolean);
    const problem = `tshark exited ${r.status}: ${r.stderr}`;
    assert.equal(lines.length, captured, problem);
    for (const l of lines) assert.match(l, new RegExp(`^(\\d+,${GUEST_PORT}|${GUEST_PORT},\\d+)\\t$`), `a frame of another flow was captured: ${l}`);
  }, { soft: true });

  await step('Export SVG… writes the picture with the guest address', async () => {
    await topo.locator('#export-svg').click();
    // code-server's own save dialog: a path in the quick input.
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.waitFor({ state: 'visible', timeout: 10_000 });
    const file = join(workspace, 'usernet-topology.svg');
    await box.fill(file);
    await page.keyboard.press('Enter');
    await page.locator('.notifications-toasts', { hasText: 'topology saved' }).first().waitFor({ timeout: 10_000 });
    const svg = readFileSync(file, 'utf8');
    // Kept with the screenshots, to look at (docs/topology.svg is one of these).
    copyFileSync(file, join(shots, 'usernet-topology.svg'));
    assert.match(svg, /<svg[^>]+viewBox/);
    assert.match(svg, /eth0 10\.0\.2\.15/);
    assert.match(svg, /↑ hostfwd tcp 127\.0\.0\.1:\d+ → 10\.0\.2\.15:7777/);
    assert.doesNotMatch(svg, /var\(--/, 'colours are written in');
  }, { soft: true });

  assert.deepEqual(softFailures, [], 'every step passed');
});

/**
 * The topology view, live: launch the VM, open "Usernet: Show Topology" beside
 * the serial console, lease an address with udhcpc and see it on the guest,
 * ping and see the guest link's counter move; then network conditions from
 * the picture: "Simulate Conditions…" on the gateway sets `delay 300ms` on its
 * replies, the status bar shows it, ping's round trips take the delay, and
 * removing it from the status bar takes the item away. Real code-server in
 * real Chromium (test/support/vscode-e2e.ts); screenshots of every step go to
 * test-results/e2e/topology/.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { e2eSkipReason, expectPromptAfter, expectText, openPane, openWorkbench, PROMPT, runCommand } from '../support/vscode-e2e';

const skip = e2eSkipReason();
const DELAY_MS = 300;

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

test('VS Code: the topology shows the leased guest and moving counters; Simulate Conditions… on it delays pings', { skip, timeout: 15 * 60_000 }, async (t) => {
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
    assert.doesNotMatch(svg, /var\(--/, 'colours are written in');
  }, { soft: true });

  assert.deepEqual(softFailures, [], 'every step passed');
});

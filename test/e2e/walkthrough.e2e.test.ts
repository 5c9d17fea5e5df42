/**
 * A new user's first two minutes: a fresh folder shows the Usernet welcome in
 * Run and Debug; the "User networking" walkthrough is done through its own
 * buttons, each step ticked by what really happened in the VM; the console
 * shows the boot log and the prompt with no key pressed, on a cold boot (this
 * file gives the VM an empty snapshot cache) and again on the restore of the
 * snapshot that boot saved. Real code-server in real Chromium
 * (test/support/vscode-e2e.ts); screenshots in test-results/e2e/walkthrough/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { e2eSkipReason, expectText, openPane, openWorkbench, PROMPT, runCommand } from '../support/vscode-e2e';

const skip = e2eSkipReason();

/** The walkthrough's steps as package.json names them, with the label of each one's button. */
const STEPS = [
  { title: 'Launch the VM', button: 'Launch the VM', within: 300_000 },
  { title: 'Take a DHCP lease', button: 'Run udhcpc in the guest', within: 60_000 },
  { title: 'Reach the host from the guest', button: 'Connect from the guest', within: 60_000 },
  { title: 'Try the host to the guest', button: 'Try host to guest', within: 60_000 },
  { title: 'Add a port forward', button: 'Forward a port and connect', within: 90_000 },
  { title: 'Stop a packet at slirp_input', button: 'Break at slirp_input and ping', within: 60_000 },
];

test('VS Code: the welcome, the User networking walkthrough step by step, the console on a cold boot and a restore', { skip, timeout: 20 * 60_000 }, async (t) => {
  // An empty snapshot cache for the VM the workbench launches: the first boot is cold, the second restores its snapshot.
  const cache = mkdtempSync(join(tmpdir(), 'usernet-e2e-cache-'));
  const before = process.env.USERNET_CACHE_DIR;
  process.env.USERNET_CACHE_DIR = cache;
  t.after(() => {
    if (before === undefined) delete process.env.USERNET_CACHE_DIR;
    else process.env.USERNET_CACHE_DIR = before;
    rmSync(cache, { recursive: true, force: true });
  });
  const { page, step, log, softFailures } = await openWorkbench(t, 'walkthrough');

  await step('a fresh folder: Run and Debug shows the Usernet welcome', async () => {
    await runCommand(page, 'View: Show Run and Debug');
    const welcome = page.locator('.welcome-view-content', { hasText: 'Launch the Bundled VM' }).first();
    await welcome.waitFor({ timeout: 30_000 });
    for (const action of ['Open a .qemu Profile', 'Add a Port Forward']) {
      assert.equal(await welcome.locator('a, button', { hasText: action }).count() > 0, true, `the welcome offers ${action}`);
    }
  });

  await step('open the walkthrough', async () => {
    await runCommand(page, 'Welcome: Open Walkthrough');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill('User networking');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'User networking, step by step' }).first().click();
    await stepRow(page, STEPS[0]!.title).waitFor({ timeout: 30_000 });
    for (const s of STEPS) assert.equal(await stepRow(page, s.title).getAttribute('aria-checked'), 'false', `${s.title} starts unticked`);
  });

  for (const [i, s] of STEPS.entries()) {
    await step(`walkthrough: ${s.title} (its button: ${s.button})`, async () => {
      const row = stepRow(page, s.title);
      await row.click();
      // The step unfolds with an animation: a click before it settles can miss its button.
      await page.locator(`button.getting-started-step[aria-expanded="true"]`, { has: page.locator('.step-title', { hasText: s.title }) }).waitFor({ timeout: 10_000 });
      await page.waitForTimeout(1000);
      await page.locator('.getting-started-step[aria-expanded="true"] .button-link, .getting-started-step[aria-expanded="true"] a', { hasText: s.button }).first().click();
      await waitChecked(page, s.title, s.within);
    });
    if (i === 0) {
      await step('cold boot: with no key pressed the console shows the boot log and the prompt, then the lease hint', async () => {
        await expectText(page.locator('.repl'), 'VM running (booted in', 30_000); // cold: no snapshot to restore
        const rows = (await consoleFrame(page)).locator('.xterm-rows');
        await expectText(rows, 'Usernet guest ready', 60_000);
        await expectText(rows, PROMPT.trim(), 30_000);
        await expectText(rows, 'no DHCP lease yet: udhcpc -i eth0', 30_000);
      });
    }
    if (s.title.startsWith('Stop a packet')) {
      await step('the VM stopped at slirp_input; remove the breakpoint and continue', async () => {
        const stack = await openPane(page, 'Call Stack');
        await stack.locator('.monaco-list-row', { hasText: 'slirp_input' }).first().waitFor({ timeout: 10_000 });
        const breakpoints = await openPane(page, 'Breakpoints');
        await breakpoints.locator('.pane-header').hover();
        await breakpoints.locator('.pane-header .action-label[aria-label="Remove All Breakpoints"]').click();
        await breakpoints.locator('.monaco-list-row', { hasText: 'slirp_input' }).waitFor({ state: 'detached', timeout: 10_000 });
        await page.locator('.debug-toolbar .codicon-debug-continue').click();
        await page.locator('.debug-toolbar .codicon-debug-pause').waitFor({ timeout: 30_000 });
      });
    }
  }

  await step('every step of the walkthrough is ticked', async () => {
    await showWalkthrough(page);
    for (const s of STEPS) assert.equal(await stepRow(page, s.title).getAttribute('aria-checked'), 'true', s.title);
  });

  await step('a second launch restores the snapshot: the console shows the saved boot log and the prompt with no key pressed', async () => {
    await runCommand(page, 'Usernet: Stop VM');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 60_000 });
    await runCommand(page, 'Usernet: Launch VM');
    await page.locator('.debug-toolbar').waitFor({ timeout: 60_000 });
    const frame = await consoleFrame(page);
    const rows = frame.locator('.xterm-rows');
    await expectText(rows, 'Usernet guest ready', 120_000);
    await expectText(rows, PROMPT.trim(), 30_000);
    const repl = page.locator('.repl');
    await expectText(repl, 'restored from snapshot', 30_000);
    log.push(`restored console: ${(await rows.innerText()).slice(-400)}`);
  });

  assert.deepEqual(softFailures, [], 'every step passed');
});

/** A step of the open walkthrough, by its title. */
function stepRow(page: Page, title: string) {
  return page.locator('button.getting-started-step', { has: page.locator('.step-title', { hasText: title }) }).first();
}

async function waitChecked(page: Page, title: string, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    // A stop opens our source over the walkthrough: bring it back to read its steps.
    if (!(await stepRow(page, title).isVisible())) await showWalkthrough(page);
    if ((await stepRow(page, title).getAttribute('aria-checked').catch(() => null)) === 'true') return;
    if (Date.now() > deadline) throw new Error(`the step "${title}" was not ticked within ${timeout / 1000} s`);
    await page.waitForTimeout(500);
  }
}

async function showWalkthrough(page: Page): Promise<void> {
  await page.locator('.tabs-container .tab', { hasText: 'Walkthrough' }).first().click().catch(() => undefined);
}

/**
 * The serial console's page. The walkthrough's pictures are webviews too, so
 * the console is the visible webview whose page has a terminal.
 */
async function consoleFrame(page: Page): Promise<FrameLocator> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const count = await page.locator('iframe.webview.ready:visible').count();
    for (let i = 0; i < count; i++) {
      const frame = page.frameLocator(`iframe.webview.ready:visible >> nth=${i}`).frameLocator('iframe#active-frame');
      if (await frame.locator('.xterm-rows').count()) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no visible console among ${count} webviews`);
    await page.waitForTimeout(500);
  }
}

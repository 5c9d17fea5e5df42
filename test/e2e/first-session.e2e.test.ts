/**
 * The first session of a user: launch the VM from the command palette, use
 * the guest's shell in the serial console, watch the NAT session appear, stop
 * on `tcp_input` with a condition set in the Breakpoints view, read the packet
 * in Variables, continue, and see the download finish. Real code-server in
 * real Chromium (test/support/vscode-e2e.ts); a screenshot of every step goes
 * to test-results/e2e/first-session/.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  consoleFrame, e2eSkipReason, expectPromptAfter, expectText, heldDownloadServer, listen, openPane, openWorkbench, PROMPT, runCommand, underscoreInk,
} from '../support/vscode-e2e';

const skip = e2eSkipReason();

/** The file the guest downloads; the server holds its second half back until the breakpoint is set. */
const FILE_BYTES = 1024 * 1024;
const FIRST_PART = 64 * 1024;

test('VS Code: launch the VM, use its console, see its NAT session, stop on tcp_input, finish the download', { skip, timeout: 15 * 60_000 }, async (t) => {
  const { page, step, log, softFailures, cleanups } = await openWorkbench(t, 'first-session');

  // The download's far end, on loopback: 10.0.2.2 in the guest is 127.0.0.1 here.
  const download = heldDownloadServer({ bytes: FILE_BYTES, firstPart: FIRST_PART });
  cleanups.push(() => download.server.close());
  const filePort = await listen(download.server);

  await step('Usernet: Launch VM from the command palette', async () => {
    await runCommand(page, 'Usernet: Launch VM');
    await page.locator('.debug-toolbar').waitFor({ timeout: 60_000 });
  });

  const terminal = consoleFrame(page);
  const rows = terminal.locator('.xterm-rows');
  await step('with no key pressed the console shows the boot log and the prompt', async () => {
    await rows.waitFor({ timeout: 60_000 });
    // A cold boot prints it live; a restore replays the log saved with the snapshot, then a fresh prompt.
    await expectText(rows, 'Usernet guest ready', 300_000);
    await expectText(rows, PROMPT.trim(), 60_000);
  });

  await step('F1 opens the command palette while the console has focus', async () => {
    await terminal.locator('.xterm-screen').click();
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
        await page.keyboard.press('Escape');
    await input.waitFor({ state: 'hidden', timeout: 10_000 });
  });

  const type = async (line: string) => {
    await terminal.locator('.xterm-screen').click();
    await page.keyboard.type(line, { delay: 15 });
    await page.keyboard.press('Enter');
  };

  await step('echo a_b shows its underscore on screen', async () => {
    await type('echo a_b');
    await expectPromptAfter(rows, 'echo a_b', 30_000);
    const ink = await underscoreInk(terminal, 'a_b');
    log.push(`underscore ink: ${JSON.stringify(ink)}`);
    assert.ok(ink.letter > 0, `the row of a_b was found and its 'a' has ink: ${JSON.stringify(ink)}`);
    assert.ok(ink.underscore > 0, `the '_' of a_b has no visible pixel: ${JSON.stringify(ink)}`);
  });

  await step('udhcpc configures eth0 from the built-in DHCP server', async () => {
    await type('udhcpc -i eth0 -q -n');
    await expectPromptAfter(rows, 'udhcpc -i eth0 -q -n', 120_000);
    await expectText(rows, '10.0.2.15', 10_000);
  });

  await step('a logpoint added on icmp_input in the Pipeline Stages view prints in the Debug Console', async () => {
    const pane = await openPane(page, 'Pipeline Stages');
    const row = pane.locator('.monaco-list-row', { hasText: 'icmp_input' }).first();
    await pane.locator('.monaco-list-row', { hasText: 'TX: guest' }).first().hover(); // a stage's tooltip would take the wheel: start from a row without one
    for (let i = 0; i < 20 && !(await row.isVisible()); i++) await page.mouse.wheel(0, 60);
    await row.hover();
    await row.locator('.action-label[aria-label="Add Logpoint…"]').click();
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.waitFor({ state: 'visible', timeout: 10_000 });
    await box.fill('ping to {ip.dst} seq {icmp.seq}');
    await page.keyboard.press('Enter');
    await box.waitFor({ state: 'hidden', timeout: 10_000 });
    await pane.locator('.pane-header').click(); // fold it again: the debug views need the room
    // The VM logs from the moment the adapter has the logpoint: the Breakpoints view shows it verified then.
    const breakpoints = await openPane(page, 'Breakpoints');
    const logpoint = breakpoints.locator('.monaco-list-row', { hasText: 'icmp_input log' }).first();
    await logpoint.locator('.codicon-debug-breakpoint-function').waitFor({ timeout: 10_000 });
    await type('ping -c 1 10.0.2.2');
    await expectPromptAfter(rows, 'ping -c 1 10.0.2.2', 30_000);
    await page.locator('.repl .monaco-list-row', { hasText: 'ping to 10.0.2.2 seq 0' }).first().waitFor({ timeout: 20_000 });
  });

  await step(`wget from the host's 127.0.0.1:${filePort} through 10.0.2.2 starts`, async () => {
    await type(`wget -O /dev/null http://10.0.2.2:${filePort}/file`);
    await download.started;
  });

  await step('the session appears in the NAT Sessions view', async () => {
    const pane = await openPane(page, 'NAT Sessions');
    await pane.locator('.monaco-list-row', { hasText: `10.0.2.2:${filePort}` }).first().waitFor({ timeout: 30_000 });
    // The status bar says the same: running, the guest's address, the session.
    await page.locator('.statusbar-item', { hasText: /running · 10\.0\.2\.15 · [1-9]\d* sessions?/ }).first().waitFor({ timeout: 10_000 });
  });

  await step(`breakpoint typed GDB-style, tcp_input if tcp.dstport == ${filePort}, verifies`, async () => {
    const pane = await openPane(page, 'Breakpoints');
    await pane.locator('.pane-header').hover();
    await pane.locator('.pane-header .action-label[aria-label="Add Function Breakpoint"]').click();
    const input = pane.locator('.monaco-list-row input, .monaco-list-row textarea, .monaco-list-row .monaco-inputbox input').first();
    await input.waitFor({ timeout: 10_000 });
    await page.keyboard.type(`tcp_input if tcp.dstport == ${filePort}`);
    await page.keyboard.press('Enter');
    const row = pane.locator('.monaco-list-row', { hasText: 'tcp_input' }).first();
    await row.waitFor({ timeout: 10_000 });
    // Verified: the function-breakpoint icon without VS Code's "-unverified" variant.
    await row.locator('.codicon-debug-breakpoint-function').waitFor({ timeout: 10_000 });
    log.push(`breakpoint row: ${await row.getAttribute('aria-label')}: ${await row.innerHTML()}`);
    assert.equal(await row.locator('.codicon-debug-breakpoint-function-unverified').count(), 0, 'the breakpoint is verified');
  });

  await step('the Pipeline Stages view shows tcp_input ticked', async () => {
    const pane = await openPane(page, 'Pipeline Stages');
    const row = pane.locator('.monaco-list-row', { hasText: 'tcp_input' }).first();
    // The list renders only the rows in view: scroll down to tcp_input.
    await pane.locator('.monaco-list-row', { hasText: 'TX: guest' }).first().hover(); // a stage's tooltip would take the wheel: start from a row without one
    for (let i = 0; i < 20 && !(await row.isVisible()); i++) await page.mouse.wheel(0, 60);
    await row.waitFor({ timeout: 10_000 });
    const deadline = Date.now() + 10_000;
    while (!/aria-checked="true"|checked/.test(await row.innerHTML())) {
      if (Date.now() > deadline) throw new Error(`tcp_input is not ticked: ${await row.innerHTML()}`);
      await page.waitForTimeout(250);
    }
    await pane.locator('.pane-header').click(); // fold it again: the debug views need the room
  }, { soft: true });

  await step('the VM stops on tcp_input when the rest of the file flows', async () => {
    download.release();
    await page.locator('.debug-toolbar .codicon-debug-continue').waitFor({ timeout: 60_000 });
    const stack = await openPane(page, 'Call Stack');
    await stack.locator('.monaco-list-row', { hasText: 'tcp_input' }).first().waitFor({ timeout: 30_000 });
  });

  await step('the call stack reads from e1000_mmio_write up to tcp_input', async () => {
    const stack = await openPane(page, 'Call Stack');
    const frames = stack.locator('.monaco-list-row:has(.stack-frame)');
    await frames.first().waitFor({ timeout: 10_000 });
    const frameNames = async () => (await frames.allInnerTexts()).map((t) => t.trim().split(/\s/)[0]);
    // The list renders only the rows in view: read the innermost frames, then
    // scroll to its end, where the outermost frame is, and read the rest.
    const top = await frameNames();
    await stack.locator('.monaco-list').first().hover();
    for (let i = 0; i < 10; i++) await page.mouse.wheel(0, 200);
    await stack.locator('.monaco-list-row', { hasText: 'e1000_mmio_write' }).first().waitFor({ timeout: 10_000 });
    const bottom = await frameNames();
    const names = [...top.filter((n) => !bottom.includes(n)), ...bottom];
    log.push(`call stack: ${names.join(' < ')}`);
    assert.equal(names.at(-1), 'e1000_mmio_write', `the bottom frame; the stack reads ${names.join(' < ')}`);
    assert.ok(names.includes('slirp_input') && names.includes('start_xmit'), names.join(' < '));
  }, { soft: true });

  // Reading the packet does not change what follows: a failure here is
  // recorded, the scenario goes on, and the test fails at the end.
  await step(`Variables shows tcp.dstport = ${filePort}`, async () => {
    const vars = await openPane(page, 'Variables');
    await vars.locator('.monaco-list-row', { hasText: 'Packet' }).first().waitFor({ timeout: 20_000 });
    // The TCP layer is a collapsed node "tcp = {srcport=…, dstport=…}": expand it and read its dstport child.
    const tcpRow = vars.locator('.monaco-list-row', { hasText: /^\s*tcp\b/ }).first();
    await tcpRow.waitFor({ timeout: 10_000 });
    if ((await tcpRow.getAttribute('aria-expanded')) !== 'true') {
      await tcpRow.click();
      if ((await tcpRow.getAttribute('aria-expanded')) !== 'true') await page.keyboard.press('ArrowRight');
    }
    const dstport = vars.locator('.monaco-list-row[aria-level="3"]', { hasText: /dstport/ }).first();
    await dstport.waitFor({ timeout: 10_000 }).catch(async () => {
      const shown = await vars.locator('.monaco-list-row').allInnerTexts();
      throw new Error(`no tcp.dstport among the variables; they read:\n  ${shown.join('\n  ')}`);
    });
    assert.match(await dstport.innerText(), new RegExp(`dstport\\s*[:=]?\\s*${filePort}\\b`));
  }, { soft: true });

  await step('remove the breakpoint and continue', async () => {
    const pane = await openPane(page, 'Breakpoints');
    await pane.locator('.pane-header').hover();
    await pane.locator('.pane-header .action-label[aria-label="Remove All Breakpoints"]').click();
    await pane.locator('.monaco-list-row', { hasText: 'tcp_input' }).waitFor({ state: 'detached', timeout: 10_000 });
    await page.locator('.debug-toolbar .codicon-debug-continue').click();
    await page.locator('.debug-toolbar .codicon-debug-pause').waitFor({ timeout: 30_000 });
  });

  await step('the download finishes', async () => {
    await download.finished;
    // The stop opened our TypeScript source over the console: bring the console
    // back (a page discarded while hidden is replayed from the scrollback).
    await page.locator('.tabs-container .tab', { hasText: 'Serial: Usernet VM' }).click();
    await expectText(rows, "'/dev/null' saved", 120_000);
    await expectText(rows, `wget -O /dev/null http://10.0.2.2:${filePort}/file`, 5_000);
  });

  assert.deepEqual(softFailures, [], 'every step passed');
});


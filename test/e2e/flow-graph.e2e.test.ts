/**
 * The story of one connection: the guest downloads a file from a loopback
 * server through 10.0.2.2; "Show Flow" on its NAT session draws the handshake
 * live, a click on the SYN shows its decode and journey, the filter keeps the
 * teardown's FIN arrows once the download ends, and "Show TCP Stream Graph"
 * draws the data, ACK and window lines and the stack's cwnd. Real code-server
 * in real Chromium (test/support/vscode-e2e.ts); screenshots of every step go
 * to test-results/e2e/flow-graph/.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { consoleFrame, e2eSkipReason, expectPromptAfter, expectText, heldDownloadServer, listen, openPane, openWorkbench, PROMPT, runCommand } from '../support/vscode-e2e';

const skip = e2eSkipReason();
const FILE_BYTES = 256 * 1024;
const FIRST_PART = 16 * 1024;

/** The visible webview's page (the flow views open as editor tabs over the console). */
const webview = (page: Page): FrameLocator => page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('iframe#active-frame');

test('VS Code: Show Flow on a wget\'s NAT session draws its handshake and teardown; the TCP stream graph draws its data', { skip, timeout: 15 * 60_000 }, async (t) => {
  const { page, step, softFailures, cleanups, log } = await openWorkbench(t, 'flow-graph');
  const download = heldDownloadServer({ bytes: FILE_BYTES, firstPart: FIRST_PART, connectionClose: true });
  cleanups.push(() => download.server.close());
  const filePort = await listen(download.server);

  await step('launch the VM; its console reaches the prompt', async () => {
    await runCommand(page, 'Usernet: Launch VM');
    await page.locator('.debug-toolbar').waitFor({ timeout: 60_000 });
    const rows = consoleFrame(page).locator('.xterm-rows');
    await rows.waitFor({ timeout: 60_000 });
    await expectText(rows, 'Usernet guest ready', 300_000);
    await expectText(rows, PROMPT.trim(), 60_000);
  });

  const terminal = consoleFrame(page);
  const rows = terminal.locator('.xterm-rows');
  const type = async (line: string) => {
    await terminal.locator('.xterm-screen').click();
    await page.keyboard.type(line, { delay: 15 });
    await page.keyboard.press('Enter');
  };

  await step('udhcpc configures eth0', async () => {
    await type('udhcpc -i eth0 -q -n');
    await expectPromptAfter(rows, 'udhcpc -i eth0 -q -n', 120_000);
  });

  const sessionRow = () => page.locator('.monaco-list-row', { hasText: `10.0.2.2:${filePort}` }).first();
  await step(`wget from 127.0.0.1:${filePort} through 10.0.2.2: its session appears in NAT Sessions`, async () => {
    // The view is open before the connection: flows are recorded while it is visible.
    await openPane(page, 'NAT Sessions');
    await page.waitForTimeout(1000);
    await type(`wget -O /dev/null http://10.0.2.2:${filePort}/file`);
    await download.started;
    await sessionRow().waitFor({ timeout: 30_000 });
  });

  const fromMenu = async (item: string) => {
    await sessionRow().click({ button: 'right' });
    const entry = page.locator('.monaco-menu .action-label', { hasText: item }).first();
    await entry.hover();
    await entry.click();
    // The live tree redraws the row's counters while the menu is open: the click must still run the item, with its row.
    await page.locator('.context-view .monaco-menu').waitFor({ state: 'hidden', timeout: 5_000 });
    await page.waitForTimeout(500);
    assert.equal(await page.locator('.quick-input-widget').isVisible(), false, `${item} ran with its row (no session picker)`);
  };

  await step('Show Flow on the session draws SYN, SYN/ACK and ACK between the guest and slirp lifelines', async () => {
    await fromMenu('Show Flow');
    const flow = webview(page);
    await flow.locator('svg.graph text', { hasText: 'guest 10.0.2.15:' }).first().waitFor({ timeout: 30_000 });
    await flow.locator('svg.graph text', { hasText: `slirp 10.0.2.2:${filePort}` }).first().waitFor({ timeout: 10_000 });
    await flow.locator('svg.graph text', { hasText: `host 127.0.0.1:${filePort}` }).first().waitFor({ timeout: 10_000 });
    for (const label of [/^SYN Seq=0 Len=0/, /^SYN, ACK Seq=0 Ack=1 Len=0/, /^ACK Seq=1 Ack=1 Len=0/]) {
      await flow.locator('svg.graph .tone-handshake text.label, svg.graph .tone-data text.label', { hasText: label }).first().waitFor({ timeout: 10_000 });
    }
    await flow.locator('svg.graph text.label', { hasText: `connect 127.0.0.1:${filePort}` }).first().waitFor({ timeout: 10_000 });
  });

  await step('a click on the SYN arrow shows its decode (Variables\' field names) and its journey', async () => {
    const flow = webview(page);
    // A live view redraws its rows as items arrive: click where the arrow is, not on one element of it.
    const syn = flow.locator('svg.graph .tone-handshake', { hasText: /SYN Seq=0/ }).first();
    let box = await syn.boundingBox();
    for (let i = 0; !box && i < 10; i++) box = await page.waitForTimeout(200).then(() => syn.boundingBox());
    assert.ok(box, 'the SYN row is on screen');
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expectText(flow.locator('#decode'), 'tcp.flags.syn', 10_000);
    await expectText(flow.locator('#journey'), 'tcp_input', 10_000);
    assert.match(await flow.locator('#journey').innerText(), /^journey \d+ tx /);
  }, { soft: true });

  await step('Show TCP Stream Graph on the session opens the stream graph', async () => {
    await fromMenu('Show TCP Stream Graph');
    await webview(page).locator('svg.stream .panel-title', { hasText: 'host → guest' }).first().waitFor({ timeout: 30_000 });
  });

  await step('the download finishes; the stream graph has drawn every byte toward the guest', async () => {
    download.release();
    await download.finished;
    const graph = webview(page);
    const title = graph.locator('svg.stream .panel-title', { hasText: 'host → guest' }).first();
    const deadline = Date.now() + 60_000;
    let text = '';
    while (Date.now() < deadline) {
      text = await title.textContent() ?? '';
      const bytes = Number(/: (\d+) bytes/.exec(text)?.[1] ?? 0);
      if (bytes > FILE_BYTES) break;
      await page.waitForTimeout(500);
    }
    log.push(`stream graph: ${text}`);
    assert.match(text, /host → guest: (\d+) bytes, [1-9]\d* segments/);
    assert.ok(Number(/: (\d+) bytes/.exec(text)![1]) > FILE_BYTES, `all of the file and the headers: ${text}`);
    assert.ok(((await graph.locator('svg.stream path.series.ack').first().getAttribute('d')) ?? '').length > 0, 'an ACK line');
    assert.ok(((await graph.locator('svg.stream path.series.cwnd').first().getAttribute('d')) ?? '').length > 0, 'a cwnd line');
  });

  await step('back on the flow graph, the filter tcp.flags.fin == 1 keeps the teardown: a FIN each way', async () => {
    // The floating debug toolbar covers the middle of the tab row: click the tab at its left end.
    await page.locator('.tabs-container .tab', { hasText: 'Flow:' }).first().click({ position: { x: 24, y: 12 } });
    const flow = webview(page);
    const box = flow.locator('#filter');
    await box.waitFor({ timeout: 20_000 });
    await box.fill('tcp.flags.fin == 1');
    const fins = flow.locator('svg.graph .tone-fin');
    const deadline = Date.now() + 30_000;
    while ((await fins.count()) < 2 && Date.now() < deadline) await page.waitForTimeout(500);
    const labels = await flow.locator('svg.graph .tone-fin text.label').allTextContents();
    log.push(`FIN rows: ${labels.join(' | ')}`);
    assert.equal(labels.length, 2, `two FIN arrows: ${labels.join(' | ')}`);
    assert.ok(labels.every((l) => /^FIN/.test(l)));
    await expectText(flow.locator('#status'), '2 of', 10_000);
  });

  assert.deepEqual(softFailures, [], 'every step passed');
});

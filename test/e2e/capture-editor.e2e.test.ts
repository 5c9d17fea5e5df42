/**
 * A capture opens in the editor: a 10,000-packet pcapng from our writer opens
 * as a packet list (only the rows in view exist), a filter narrows it, a bad
 * one is shown at the filter box, a click shows the decode, the comments and
 * the bytes, and Show Flow opens the flow view on the conversation. No VM. Screenshots in
 * test-results/e2e/capture-editor/.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { samplePcapng } from '../support/capture-samples';
import { e2eSkipReason, expectText, openWorkbench } from '../support/vscode-e2e';

const skip = e2eSkipReason();
const PACKETS = 10_000;

test('VS Code: a pcapng opens in the capture editor, scrolls, filters, decodes and draws a flow', { skip, timeout: 10 * 60_000 }, async (t) => {
  const { page, step, log, workspace } = await openWorkbench(t, 'capture-editor');
  writeFileSync(join(workspace, 'ten-thousand.pcapng'), await samplePcapng(PACKETS));
  const editor = page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('iframe#active-frame');
  const status = editor.locator('#status');

  await step('Quick Open ten-thousand.pcapng opens the capture editor with every packet counted', async () => {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: 10_000 });
    // The file was written after the workbench opened: wait for the file search to see it.
    await input.fill('ten-thousand.pcapng');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'ten-thousand.pcapng' }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    await expectText(status, `${PACKETS} packets`, 60_000);
    await editor.locator('#rows .row').first().waitFor({ timeout: 30_000 });
    await expectText(editor.locator('#rows'), 'DNS query A example.com', 10_000);
  });

  await step('a scroll to the middle shows packet 6001 with only the rows in view in the page', async () => {
    const viewport = editor.locator('#viewport');
    const before = Date.now();
    await viewport.evaluate((el) => { el.scrollTop = 6000 * 22; });
    await editor.locator('#rows .row[data-no="6001"]').waitFor({ timeout: 10_000 });
    log.push(`scroll to row 6001 shown after ${Date.now() - before} ms`);
    const inDom = await editor.locator('#rows .row').count();
    assert.ok(inDom > 10 && inDom < 100, `${inDom} row elements for ${PACKETS} packets`);
  });

  await step('a filter narrows the list to the SYNs', async () => {
    await editor.locator('#filter').fill('tcp.flags.syn == 1 && tcp.flags.ack == 0');
    await editor.locator('#filter').press('Enter');
    await expectText(status, `${PACKETS / 20} of ${PACKETS} packets shown`, 30_000);
    const firstInfo = await editor.locator('#rows .row').first().innerText();
    assert.match(firstInfo, /\[SYN\]/);
  });

  await step('a bad filter is shown at the filter box and the list stays', async () => {
    await editor.locator('#filter').fill('tcp.prot == 80');
    await editor.locator('#filter').press('Enter');
    await expectText(editor.locator('#filter-error'), "unknown field 'tcp.prot'", 10_000);
    await expectText(status, `${PACKETS / 20} of ${PACKETS} packets shown`, 1_000);
  });

  await step('a click on a packet shows its decode, its journey comment and its bytes', async () => {
    await editor.locator('#filter').fill('');
    await editor.locator('#filter').press('Enter');
    // Exactly "N packets": "500 of N packets shown", the SYN list still on screen, contains it too.
    await editor.locator('#status', { hasText: new RegExp(`^${PACKETS} packets$`) }).waitFor({ timeout: 30_000 });
    const details = editor.locator('#details');
    await editor.locator('#rows .row[data-no="3"]').click();
    await expectText(details, 'Packet 3', 10_000);
    await expectText(details, 'ip.src', 5_000);
    await expectText(details, 'tcp.flags.syn', 5_000);
    await expectText(details, 'journey 3; nat tcp 10.0.2.15:40000', 5_000);
    await expectText(details, 'qemu_send_packet', 5_000);
    await expectText(editor.locator('#hex'), '0000  52 55 0a 00 02 02', 5_000);
  });

  await step('Show Flow opens the flow view on the connection: handshake and teardown arrows, the journey under a packet', async () => {
    await editor.locator('#show-flow').click();
    const flow = page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('iframe#active-frame');
    await flow.locator('svg.graph text', { hasText: 'guest 10.0.2.15:40000' }).first().waitFor({ timeout: 30_000 });
    await flow.locator('svg.graph text.label', { hasText: /SYN/ }).first().waitFor({ timeout: 10_000 });
    await flow.locator('svg.graph text.label', { hasText: /FIN/ }).first().waitFor({ timeout: 10_000 });
    await flow.locator('svg.graph .tone-handshake', { hasText: /SYN/ }).first().click();
    await expectText(flow.locator('#decode'), 'tcp.flags.syn', 10_000);
    await expectText(flow.locator('#journey'), 'journey 3; nat tcp 10.0.2.15:40000', 10_000);
  });
});

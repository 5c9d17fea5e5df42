/**
 * The flow graph page (dist/webview/flow.js) in headless Chromium, under the
 * Content-Security-Policy VS Code gives it, fed 10,000 arrows the way the
 * extension feeds a live flow: only the rows in view exist in the DOM, the
 * last arrow is drawn once scrolled to, a click on it asks for its decode,
 * and an export says which rows it holds.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { FlowItem } from '../../../extension/pipeline/flow/record';
import { flowPageHtml } from '../../../extension/ui/flow-html';
import { HEAD_HEIGHT, MAX_PNG_ROWS, ROW_HEIGHT, rowsInView } from '../../../webview/flow/flow-graph';
import { chromiumProblem } from '../../support/chromium';
import { openWebviewPage } from '../../support/webview-page';

const skip = chromiumProblem();
if (skip) console.error(`flow webview tests skipped: ${skip}`);
const ARROWS = 10_000;
const VIEWPORT = { width: 1200, height: 700 };

/** What VS Code gives a webview, recording what the page posts instead of sending it. */
const STUB_VSCODE_API = `
  window.posted = [];
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m), getState: () => undefined, setState: () => undefined });
`;

let page: Page;
let cspViolations: string[];
let close: (() => Promise<void>) | undefined;
type Posted = { type: string; [k: string]: unknown };
const posted = () => page.evaluate(() => (window as unknown as { posted: Posted[] }).posted);
const send = (m: unknown) => page.evaluate((msg) => window.postMessage(msg, '*'), m);
const afterFrames = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

/** A bulk transfer toward the guest: data segments and the guest's ACKs, alternating. */
function arrows(count: number): FlowItem[] {
  return Array.from({ length: count }, (_, n): FlowItem => {
    const data = n % 2 === 0;
    return {
      kind: 'packet', n, time: n * 0.05, direction: data ? 'rx' : 'tx', protocol: 'tcp', summary: `segment ${n}`,
      flags: data ? ['PSH', 'ACK'] : ['ACK'], seq: data ? 1 + 1448 * (n / 2) : 1, ack: data ? 1 : 1 + 1448 * ((n + 1) / 2), len: data ? 1448 : 0, win: 65535, journey: n + 1,
    };
  });
}

before(async () => {
  if (skip) return;
  ({ page, cspViolations, close } = await openWebviewPage({
    html: (origin) => flowPageHtml({ cspSource: origin, scriptUri: `${origin}/dist/webview/flow.js`, cssUri: `${origin}/media/flow.css`, controlsCssUri: `${origin}/media/controls.css`, title: 'Flow' }),
    files: ['dist/webview/flow.js', 'media/flow.css', 'media/controls.css'],
    initScript: STUB_VSCODE_API,
    viewport: VIEWPORT,
  }));
  await page.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));
});

after(async () => {
  await close?.();
});

test('the rows in view: all that is drawn, whatever the length of the flow', () => {
  assert.deepEqual(rowsInView(0, 700, ARROWS), [0, Math.ceil(700 / ROW_HEIGHT) + 1]);
  const bottom = HEAD_HEIGHT + ARROWS * ROW_HEIGHT - 700;
  const [first, end] = rowsInView(bottom, 700, ARROWS);
  assert.equal(end, ARROWS, 'scrolled to the end, the last row is in view');
  assert.ok(end - first <= Math.ceil(700 / ROW_HEIGHT) + 2, `${end - first} rows drawn`);
  assert.deepEqual(rowsInView(0, 700, 3), [0, 3]);
  assert.deepEqual(rowsInView(10 ** 9, 700, 3), [3, 3], 'scrolled past the end: nothing');
});

test('10,000 arrows: only the rows in view are in the DOM; scrolled to the end, the last arrow is drawn and answers a click', { skip }, async () => {
  await send({ type: 'init', view: 'flow', title: 'Flow: bulk', endpoints: { protocol: 'tcp', guest: '10.0.2.15:40000', slirp: '10.0.2.2:80', host: '127.0.0.1:80' }, live: true });
  await send({ type: 'items', items: arrows(ARROWS), forgotten: 0, closed: false, state: 'ESTABLISHED', host: '127.0.0.1:80' });
  await page.waitForFunction((n) => document.getElementById('status')?.textContent?.startsWith(`${n} rows`), ARROWS);
  await afterFrames();
  const drawn = () => page.evaluate(() => ({ rows: document.querySelectorAll('svg.graph g.row').length, nodes: document.querySelectorAll('svg.graph *').length }));
  const top = await drawn();
  const inView = Math.ceil(VIEWPORT.height / ROW_HEIGHT) + 2;
  assert.ok(top.rows > 10 && top.rows <= inView, `${top.rows} rows drawn at the top`);
  assert.ok(top.nodes < 20 * inView, `${top.nodes} SVG nodes`);

  await page.evaluate(() => {
    const s = document.getElementById('scroller')!;
    s.scrollTop = s.scrollHeight;
  });
  await page.waitForFunction((n) => document.querySelector(`svg.graph g.row[data-n="${n}"]`) !== null, ARROWS - 1);
  const end = await drawn();
  assert.ok(end.rows <= inView && end.nodes < 20 * inView, `bounded at the end too: ${JSON.stringify(end)}`);
  assert.match(await page.locator(`svg.graph g.row[data-n="${ARROWS - 1}"] text.label`).textContent() ?? '', /^ACK Seq=1 Ack=7240001 Len=0 Win=65535$/);
  await page.locator(`svg.graph g.row[data-n="${ARROWS - 1}"] .row-bg`).click();
  assert.deepEqual((await posted()).filter((m) => m.type === 'select').at(-1), { type: 'select', n: ARROWS - 1 });
  assert.deepEqual(cspViolations, []);
});

test('an export says which rows it holds: SVG every row, PNG the rows from the first in view', { skip }, async () => {
  await page.evaluate(() => {
    document.getElementById('scroller')!.scrollTop = 40 + 2000 * 26; // HEAD_HEIGHT + 2000 rows
  });
  await afterFrames();
  await page.locator('#export-png').click();
  await page.waitForFunction(() => (window as unknown as { posted: Posted[] }).posted.some((m) => m.type === 'export' && m.format === 'png'));
  const status = await page.locator('#status').textContent();
  assert.match(status ?? '', new RegExp(`^PNG: rows 2001–${2000 + MAX_PNG_ROWS} of ${ARROWS} exported`));
  const png = Buffer.from((await posted()).find((m) => m.type === 'export' && m.format === 'png')!.data as string, 'base64');
  assert.equal(png.readUInt32BE(20), HEAD_HEIGHT + MAX_PNG_ROWS * ROW_HEIGHT + 8, 'the PNG is as tall as its rows');
  await page.locator('#export-svg').click();
  await page.waitForFunction(() => (window as unknown as { posted: Posted[] }).posted.some((m) => m.type === 'export' && m.format === 'svg'));
  const svg = (await posted()).find((m) => m.type === 'export' && m.format === 'svg')!.data as string;
  assert.ok(svg.includes(`segment ${ARROWS - 1}`) && svg.includes('segment 0'), 'the SVG holds the first and the last rows');
});

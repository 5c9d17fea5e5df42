/**
 * The console webview bundle (dist/webview/console.js) in headless Chromium,
 * under the same Content-Security-Policy as in VS Code, with a stub
 * acquireVsCodeApi that records what the page posts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { consolePageHtml } from '../../../extension/ui/console-html';
import { chromiumProblem } from '../../support/chromium';
import { openWebviewPage } from '../../support/webview-page';

const skip = chromiumProblem();
if (skip) console.error(`console webview tests skipped: ${skip}`);

/** What VS Code gives a webview, recording instead of sending; console.warn is recorded too. */
const STUB_VSCODE_API = `
  window.posted = [];
  window.warnings = [];
  const warn = console.warn.bind(console);
  console.warn = (...a) => { window.warnings.push(a.join(' ')); warn(...a); };
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m), getState: () => undefined, setState: () => undefined });
`;

let page: Page;
let cspViolations: string[];
let close: (() => Promise<void>) | undefined;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const rows = () => page.locator('.xterm-rows').innerText();
type Posted = { type: string; [k: string]: unknown };
const posted = () => page.evaluate(() => (window as unknown as { posted: Posted[] }).posted);
const send = (m: unknown) => page.evaluate((msg) => window.postMessage(msg, '*'), m);
const inputs = async () => (await posted()).filter((m) => m.type === 'input').map((m) => Buffer.from(m.data as string, 'base64').toString()).join('');

before(async () => {
  if (skip) return;
  ({ page, cspViolations, close } = await openWebviewPage({
    html: (origin) => consolePageHtml({
      cspSource: origin,
      scriptUri: `${origin}/dist/webview/console.js`,
      xtermCssUri: `${origin}/dist/webview/console.css`,
      consoleCssUri: `${origin}/media/console.css`,
      title: 'Serial console',
    }),
    files: ['dist/webview/console.js', 'dist/webview/console.css', 'media/console.css'],
    initScript: STUB_VSCODE_API,
    viewport: { width: 800, height: 500 },
  }));
  await page.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));
});

after(async () => {
  await close?.();
});

test('the page says it is ready with its size, under the CSP without violations', { skip }, async () => {
  const ready = (await posted()).find((m) => m.type === 'ready')!;
  assert.ok((ready.cols as number) > 20 && (ready.rows as number) > 5, JSON.stringify(ready));
  assert.equal(await page.locator('.xterm-screen').count(), 1);
  assert.deepEqual(cspViolations, []);
});

test('output appears in xterm and every chunk is acknowledged after it is written', { skip }, async () => {
  await send({ type: 'output', id: 1, data: b64('Welcome to the usernet guest\r\nusernet:~# ') });
  await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('usernet:~#'));
  assert.match(await rows(), /Welcome to the usernet guest\s+usernet:~#/);
  const big = 'x'.repeat(99) + '\n';
  await send({ type: 'output', id: 2, data: b64(big.repeat(1000)) });
  await page.waitForFunction(() => (window as unknown as { posted: { type: string; id?: number }[] }).posted.some((m) => m.type === 'ack' && m.id === 2));
  const acks = (await posted()).filter((m) => m.type === 'ack');
  assert.deepEqual(acks.map((a) => [a.id, a.bytes]), [[1, 'Welcome to the usernet guest\r\nusernet:~# '.length], [2, 100_000]]);
});

test('typed keys become input messages; Ctrl+C is ^C without a selection and a copy with one', { skip }, async () => {
  await send({ type: 'reset' });
  await send({ type: 'output', id: 3, data: b64('hello world\r\n') });
  await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('hello world'));
  await page.locator('.xterm-screen').click();
  await page.keyboard.type('ls -l');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Control+C');
  await page.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.filter((m) => m.type === 'input').length >= 2);
  await page.waitForTimeout(100);
  assert.equal(await inputs(), 'ls -l\r\x03');
  // Double-click selects a word; Ctrl+C then copies it instead of interrupting.
  await page.locator('.xterm-screen').dblclick({ position: { x: 12, y: 6 } });
  await page.keyboard.press('Control+C');
  await page.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'copy'));
  const copy = (await posted()).find((m) => m.type === 'copy')!;
  assert.equal(copy.text, 'hello');
  assert.equal(await inputs(), 'ls -l\r\x03', 'no ^C was sent with the copy');
});

test("the terminal answers a guest's cursor query, but not again when the output is replayed", { skip }, async () => {
  await send({ type: 'reset' });
  const before = await inputs();
  await send({ type: 'output', id: 30, data: b64('prompt> \x1b[6n'), replay: true });
  await page.waitForFunction(() => (window as unknown as { posted: { type: string; id?: number }[] }).posted.some((m) => m.type === 'ack' && m.id === 30));
  assert.equal(await inputs(), before, 'a replayed query is not answered');
  await send({ type: 'output', id: 31, data: b64('\x1b[6n') });
  await page.waitForFunction(() => (window as unknown as { posted: { type: string; id?: number }[] }).posted.some((m) => m.type === 'ack' && m.id === 31));
  await page.waitForTimeout(50);
  assert.match((await inputs()).slice(before.length), /^\x1b\[1;\d+R$/, 'a live one is');
});

test('malformed messages are dropped with a warning and change nothing', { skip }, async () => {
  await send({ type: 'reset' });
  await send({ type: 'output', id: 10, data: b64('before') });
  await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('before'));
  const before = (await posted()).length;
  await send({ type: 'output', id: 11, data: 'not base64 at all!' });
  await send({ type: 'output', id: -1, data: b64('negative id') });
  await send({ type: 'evil', html: '<img src=x>' });
  await send('output');
  await send({ type: 'output', id: 12, data: b64(' after') });
  await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('after'));
  const now = await posted();
  assert.deepEqual(now.slice(before).map((m) => [m.type, m.id]), [['ack', 12]]);
  assert.doesNotMatch(await rows(), /negative id/);
  const warnings = await page.evaluate(() => (window as unknown as { warnings: string[] }).warnings);
  assert.equal(warnings.filter((w) => w.includes('dropping malformed message')).length, 4);
});

test('colours follow the theme variables as VS Code changes them', { skip }, async () => {
  await page.evaluate(() => {
    document.documentElement.style.setProperty('--vscode-terminal-background', '#102030');
    document.documentElement.style.setProperty('--vscode-terminal-foreground', '#e0d0c0');
  });
  await page.waitForFunction(() => {
    const el = document.querySelector('.xterm-scrollable-element') as HTMLElement | null;
    return el?.style.backgroundColor === 'rgb(16, 32, 48)';
  });
  await send({ type: 'output', id: 20, data: b64('\r\ncoloured') });
  await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('coloured'));
  assert.deepEqual(cspViolations, [], 'theme styles are admitted by the policy');
});

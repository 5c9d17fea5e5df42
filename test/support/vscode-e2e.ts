/**
 * What every VS Code end-to-end test shares: our .vsix installed in a real
 * code-server (4.100.3, a real Node extension host), driven in a real
 * Chromium like a person would. `openWorkbench` starts both and gives a
 * `step` that screenshots each step into test-results/e2e/NAME/; the rest are
 * the gestures the tests repeat (run a palette command, open a view pane, read
 * the serial console).
 *
 * Prepared by scripts/e2e-setup.sh (npm run test:e2e runs it first, outside
 * the private network namespace the tests themselves run in).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { CHROMIUM, CHROMIUM_ARGS, chromiumProblem } from './chromium';
import { containmentProblem } from './containment';

const root = join(__dirname, '..', '..');
const codeServer = join(root, '.e2e/code-server/node_modules/code-server/out/node/entry.js');
const extensionsDir = join(root, '.e2e/ext');

export const PROMPT = 'usernet:~# ';

/** Why the e2e tests cannot run here (printed once), or undefined when they can. */
export function e2eSkipReason(): string | undefined {
  const notContained = containmentProblem();
  const skip = notContained
    ? `not in a private network namespace (${notContained}); run it through npm run test:e2e as root`
    : chromiumProblem();
  if (skip) console.error(`VS Code end-to-end test skipped: ${skip}`);
  return skip;
}

export interface Workbench {
  page: Page;
  context: BrowserContext;
  /** A scratch directory removed after the test; `workspace/` in it is the opened folder. */
  scratch: string;
  workspace: string;
  /** Where this test's screenshots go. */
  shots: string;
  log: string[];
  /** Runs one step; a screenshot after it (or of its failure). A soft step's failure is recorded and the test goes on. */
  step(name: string, fn: () => Promise<unknown>, options?: { soft?: boolean }): Promise<void>;
  /** Steps that failed softly: assert this is empty at the end. */
  softFailures: string[];
  /** Called in reverse order after the test. */
  cleanups: (() => unknown)[];
}

/**
 * Starts code-server with our extension and opens its workbench in Chromium on
 * a fresh workspace (files written by `files` first, relative to it). Screenshots
 * go to test-results/e2e/NAME/.
 */
export async function openWorkbench(t: TestContext, name: string, files: Record<string, string> = {}): Promise<Workbench> {
  assert.ok(existsSync(codeServer), `code-server is not installed: run scripts/e2e-setup.sh first (npm run test:e2e does)`);
  assert.ok(existsSync(extensionsDir), `the extension is not installed in ${extensionsDir}: run scripts/e2e-setup.sh`);
  const shots = join(root, 'test-results/e2e', name);
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'usernet-e2e-'));
  const workspace = join(scratch, 'workspace');
  mkdirSync(workspace, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(workspace, path, '..'), { recursive: true });
    writeFileSync(join(workspace, path), text);
  }
  const log: string[] = [];
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    writeFileSync(join(shots, 'log.txt'), log.join('\n'));
    for (const c of cleanups.reverse()) await c();
    rmSync(scratch, { recursive: true, force: true });
  });

  const { port, process: cs } = await startCodeServer(scratch, log);
  cleanups.push(() => cs.kill('SIGTERM'));
  const context = await chromium.launchPersistentContext(join(scratch, 'chromium'), {
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1600, height: 1000 },
  });
  cleanups.push(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => log.push(`[page ${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[page error] ${e.message}`));

  let n = 0;
  const softFailures: string[] = [];
  const step = async (stepName: string, fn: () => Promise<unknown>, { soft = false } = {}) => {
    const id = String(++n).padStart(2, '0');
    log.push(`--- step ${id}: ${stepName}`);
    try {
      await fn();
    } catch (e) {
      await page.screenshot({ path: join(shots, `${id}-FAILED-${slug(stepName)}.png`) }).catch(() => undefined);
      const why = `step ${id} (${stepName}): ${e instanceof Error ? e.message : e}`;
      if (!soft) throw new Error(`stopped at ${why}${softFailures.length ? `\nearlier: ${softFailures.join('\n')}` : ''}`);
      log.push(`FAILED ${why}`);
      softFailures.push(why);
      return;
    }
    await page.screenshot({ path: join(shots, `${id}-${slug(stepName)}.png`) });
  };

  await step('workbench loads', async () => {
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`, { timeout: 120_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await page.locator('.statusbar').waitFor({ timeout: 30_000 });
  });
  return { page, context, scratch, workspace, shots, log, step, softFailures, cleanups };
}

export async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/**
 * A loopback HTTP server for a guest's download that can be watched mid-way:
 * /file sends its headers and the first `firstPart` bytes at once, the rest of
 * `bytes` when `release()` is called. `connectionClose` makes the server end
 * the connection after the body (its FIN comes first).
 */
export function heldDownloadServer(o: { bytes: number; firstPart: number; connectionClose?: boolean }) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  let finished!: () => void;
  const finishedP = new Promise<void>((r) => (finished = r));
  const body = Buffer.alloc(o.bytes, 0x5a);
  const server = createServer((req, res) => {
    if (req.url !== '/file') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(o.bytes), ...(o.connectionClose ? { connection: 'close' } : {}) });
    res.write(body.subarray(0, o.firstPart));
    started();
    void released.then(() => res.end(body.subarray(o.firstPart), () => finished()));
  });
  return { server, release, started: startedP, finished: finishedP };
}

async function startCodeServer(scratch: string, log: string[]): Promise<{ port: number; process: ChildProcess }> {
  const user = join(scratch, 'user');
  mkdirSync(join(user, 'User'), { recursive: true });
  mkdirSync(join(scratch, 'workspace'), { recursive: true });
  mkdirSync(join(scratch, 'xdg'), { recursive: true });
  writeFileSync(join(user, 'User/settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'debug.openDebug': 'openOnSessionStart',
  }));
  const probe = createServer();
  const port = await listen(probe);
  probe.close();
  const cs = spawn(process.execPath, [
    codeServer, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override',
    '--extensions-dir', extensionsDir, '--user-data-dir', user, join(scratch, 'workspace'),
  ], { env: { ...process.env, XDG_CONFIG_HOME: join(scratch, 'xdg') }, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      const text = d.toString();
      log.push(`[code-server] ${text.trimEnd()}`);
      if (text.includes('HTTP server listening')) resolve();
    };
    cs.stdout!.on('data', onData);
    cs.stderr!.on('data', onData);
    cs.once('exit', (code) => reject(new Error(`code-server exited with ${code} before listening`)));
    setTimeout(() => reject(new Error('code-server did not listen within 60 s')), 60_000).unref();
  });
  await ready;
  return { port, process: cs };
}

/** Runs a command from the palette; retries while the extensions' commands are still registering. */
export async function runCommand(page: Page, label: string, timeout = 60_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(`>${label}`);
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: label }).first();
    try {
      await row.waitFor({ timeout: 5_000 });
      await page.keyboard.press('Enter');
      return;
    } catch (e) {
      await page.keyboard.press('Escape');
      if (Date.now() > deadline) throw e;
    }
  }
}

/** The console webview's inner document (VS Code nests the page in two iframes). */
export function consoleFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('iframe#active-frame');
}

interface CharBoxes {
  letter?: { left: number; right: number };
  underscore?: { left: number; right: number };
  width: number;
}

/**
 * Counts the pixels that differ from the background in the cells of `text`'s
 * first character and of its '_' on the console's screen (a screenshot of the
 * row, not xterm's buffer: a clipped underscore is in the buffer but not seen).
 */
export async function underscoreInk(terminal: FrameLocator, text: string): Promise<{ letter: number; underscore: number }> {
  const row = terminal.locator('.xterm-rows > div', { hasText: new RegExp(`^${text}\\s*$`) }).last();
  await row.waitFor({ timeout: 10_000 });
  // Where the characters are inside the row, from the rendered text's own boxes.
  // No named functions inside: the test's TypeScript loader would wrap them in a helper the page lacks.
  const boxes = await row.evaluate((el, t): CharBoxes => {
    const rowBox = el.getBoundingClientRect();
    const all = el.textContent ?? '';
    const at = all.indexOf(t);
    const found: ({ left: number; right: number } | undefined)[] = [];
    for (const index of [at, all.indexOf('_', at)]) {
      let seen = 0;
      let box: { left: number; right: number } | undefined;
      const walker = el.ownerDocument.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n && !box && index >= 0; n = walker.nextNode()) {
        const len = n.textContent!.length;
        if (index < seen + len) {
          const range = el.ownerDocument.createRange();
          range.setStart(n, index - seen);
          range.setEnd(n, index - seen + 1);
          const b = range.getBoundingClientRect();
          box = { left: b.left - rowBox.left, right: b.right - rowBox.left };
        }
        seen += len;
      }
      found.push(box);
    }
    return { letter: found[0], underscore: found[1], width: rowBox.width };
  }, text);
  const png = PNG.sync.read(await row.screenshot());
  const scale = png.width / boxes.width;
  const pixel = (x: number, y: number) => png.data.readUInt32BE((y * png.width + x) * 4);
  // The row's last pixel column is blank: its colour is the background.
  const background = pixel(png.width - 1, Math.floor(png.height / 2));
  const inkIn = (box: { left: number; right: number } | undefined) => {
    if (!box) return 0;
    let n = 0;
    for (let x = Math.floor(box.left * scale); x < Math.min(png.width, Math.ceil(box.right * scale)); x++) {
      for (let y = 0; y < png.height; y++) if (pixel(x, y) !== background) n++;
    }
    return n;
  };
  return { letter: inkIn(boxes.letter), underscore: inkIn(boxes.underscore) };
}

/** A view pane of the Run and Debug container, expanded. */
export async function openPane(page: Page, title: string): Promise<Locator> {
  const pane = page.locator(`.pane:has(.pane-header:has-text("${title}"))`).first();
  await pane.waitFor({ timeout: 30_000 });
  const header = pane.locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  return pane;
}

export async function expectText(where: Locator, text: string, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const now = await where.innerText().catch(() => '');
    if (now.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`"${text}" did not appear within ${timeout / 1000} s; the screen shows:\n${now.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Waits until the shell is back: the prompt follows the last echo of `command` on screen. */
export async function expectPromptAfter(rows: Locator, command: string, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const text = await rows.innerText().catch(() => '');
    const at = text.lastIndexOf(command);
    if (at >= 0 && text.slice(at + command.length).includes(PROMPT.trim())) return;
    if (Date.now() > deadline) throw new Error(`the prompt did not come back after "${command}" within ${timeout / 1000} s:\n${text.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

/**
 * The real thing: our .vsix installed in VS Code (code-server 4.100.3, a real
 * Node extension host) driven in Chromium like a person would. Launch the VM
 * from the command palette, use the guest's shell in the serial console,
 * watch the NAT session appear, stop on `tcp_input` with a condition set in
 * the Breakpoints view, read the packet in Variables, continue, and see the
 * download finish. A screenshot of every step goes to test-results/e2e/.
 *
 * Prepared by scripts/e2e-setup.sh (npm run test:e2e runs it first, outside
 * the private network namespace the test itself runs in).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { CHROMIUM, CHROMIUM_ARGS, chromiumProblem } from '../support/chromium';
import { containmentProblem } from '../support/containment';

const root = join(__dirname, '..', '..');
const codeServer = join(root, '.e2e/code-server/node_modules/code-server/out/node/entry.js');
const extensionsDir = join(root, '.e2e/ext');
const shots = join(root, 'test-results/e2e');

const notContained = containmentProblem();
const skip = notContained
  ? `not in a private network namespace (${notContained}); run it through npm run test:e2e as root`
  : chromiumProblem();
if (skip) console.error(`VS Code end-to-end test skipped: ${skip}`);

const PROMPT = 'usernet:~# ';
/** The file the guest downloads; the server holds its second half back until the breakpoint is set. */
const FILE_BYTES = 1024 * 1024;
const FIRST_PART = 64 * 1024;

test('VS Code: launch the VM, use its console, see its NAT session, stop on tcp_input, finish the download', { skip, timeout: 15 * 60_000 }, async (t) => {
  assert.ok(existsSync(codeServer), `code-server is not installed: run scripts/e2e-setup.sh first (npm run test:e2e does)`);
  assert.ok(existsSync(extensionsDir), `the extension is not installed in ${extensionsDir}: run scripts/e2e-setup.sh`);
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'usernet-e2e-'));
  const log: string[] = [];
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    writeFileSync(join(shots, 'log.txt'), log.join('\n'));
    for (const c of cleanups.reverse()) await c();
    rmSync(scratch, { recursive: true, force: true });
  });

  // The download's far end, on loopback: 10.0.2.2 in the guest is 127.0.0.1 here.
  const download = heldDownloadServer();
  cleanups.push(() => download.server.close());
  const filePort = await listen(download.server);

  const { port: csPort, process: cs } = await startCodeServer(scratch, log);
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
  const step = async (name: string, fn: () => Promise<unknown>, { soft = false } = {}) => {
    const id = String(++n).padStart(2, '0');
    log.push(`--- step ${id}: ${name}`);
    try {
      await fn();
    } catch (e) {
      await page.screenshot({ path: join(shots, `${id}-FAILED-${slug(name)}.png`) }).catch(() => undefined);
      const why = `step ${id} (${name}): ${e instanceof Error ? e.message : e}`;
      if (!soft) throw new Error(`stopped at ${why}${softFailures.length ? `\nearlier: ${softFailures.join('\n')}` : ''}`);
      log.push(`FAILED ${why}`);
      softFailures.push(why);
      return;
    }
    await page.screenshot({ path: join(shots, `${id}-${slug(name)}.png`) });
  };

  await step('workbench loads', async () => {
    await page.goto(`http://127.0.0.1:${csPort}/?folder=${encodeURIComponent(join(scratch, 'workspace'))}`, { timeout: 120_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await page.locator('.statusbar').waitFor({ timeout: 30_000 });
  });

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
    await page.screenshot({ path: join(shots, 'palette-from-console.png') });
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
    await pane.locator('.monaco-list').first().hover();
    for (let i = 0; i < 20 && !(await row.isVisible()); i++) await page.mouse.wheel(0, 60);
    await row.hover();
    await row.locator('.action-label[aria-label="Add Logpoint…"]').click();
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.waitFor({ state: 'visible', timeout: 10_000 });
    await box.fill('ping to {ip.dst} seq {icmp.seq}');
    await page.keyboard.press('Enter');
    await pane.locator('.pane-header').click(); // fold it again: the debug views need the room
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
    await pane.locator('.monaco-list').first().hover();
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

/** Serves /file: headers and the first part at once, the rest when `release()` is called. */
function heldDownloadServer() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  let finished!: () => void;
  const finishedP = new Promise<void>((r) => (finished = r));
  const body = Buffer.alloc(FILE_BYTES, 0x5a);
  const server = createServer((req, res) => {
    if (req.url !== '/file') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(FILE_BYTES) });
    res.write(body.subarray(0, FIRST_PART));
    started();
    void released.then(() => res.end(body.subarray(FIRST_PART), () => finished()));
  });
  return { server, release, started: startedP, finished: finishedP };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
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
async function runCommand(page: Page, label: string, timeout = 60_000): Promise<void> {
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
function consoleFrame(page: Page): FrameLocator {
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
async function underscoreInk(terminal: FrameLocator, text: string): Promise<{ letter: number; underscore: number }> {
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
async function openPane(page: Page, title: string): Promise<Locator> {
  const pane = page.locator(`.pane:has(.pane-header:has-text("${title}"))`).first();
  await pane.waitFor({ timeout: 30_000 });
  const header = pane.locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  return pane;
}

async function expectText(where: Locator, text: string, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const now = await where.innerText().catch(() => '');
    if (now.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`"${text}" did not appear within ${timeout / 1000} s; the screen shows:\n${now.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Waits until the shell is back: the prompt follows the last echo of `command` on screen. */
async function expectPromptAfter(rows: Locator, command: string, timeout: number): Promise<void> {
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

/**
 * A webview bundle's page in headless Chromium as VS Code shows it: its HTML
 * under its real Content-Security-Policy and the files it names, served from
 * loopback, with a stub acquireVsCodeApi the caller provides (recording what
 * the page posts) and every CSP violation collected. The bundle is built
 * first if it is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium';

const root = join(__dirname, '..', '..');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css' };

export interface WebviewPageOptions {
  /** The page for the server's origin (its cspSource and the files' base). */
  html: (origin: string) => string;
  /** Files the page loads: each a path under the repository, served at /PATH. */
  files: string[];
  /** Runs before the page's own script: defines acquireVsCodeApi (a string: the test's transform would add helpers the page lacks). */
  initScript: string;
  viewport: { width: number; height: number };
}

export async function openWebviewPage(o: WebviewPageOptions): Promise<{ page: Page; cspViolations: string[]; close: () => Promise<void> }> {
  const bundle = o.files.find((f) => f.startsWith('dist/'));
  if (bundle && !existsSync(join(root, bundle))) spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  const server = createServer((req, res) => {
    const path = (req.url ?? '').slice(1);
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(o.html(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
    } else if (o.files.includes(path)) {
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
      res.end(readFileSync(join(root, path)));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: o.viewport });
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  await page.addInitScript({ content: `${o.initScript}
    document.addEventListener('securitypolicyviolation', (e) => console.error('Refused to ... CSP ' + e.violatedDirective + ' ' + e.blockedURI));` });
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return {
    page,
    cspViolations,
    close: async () => {
      await browser.close();
      server.close();
    },
  };
}

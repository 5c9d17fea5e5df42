/**
 * The serial console's page. The policy allows our bundle (by nonce), our
 * stylesheets (from the webview's own origin) and nothing remote. xterm.js's
 * DOM renderer adds <style> elements at run time (the bundle gives them the
 * nonce) and sets `style` attributes on cells with true-colour or contrast-
 * adjusted colours, which is why `style-src-attr 'unsafe-inline'` is the one
 * relaxation: attributes cannot load or run anything.
 */
import { randomBytes } from 'node:crypto';

export interface ConsolePageResources {
  cspSource: string;
  scriptUri: string;
  xtermCssUri: string;
  consoleCssUri: string;
  title: string;
}

export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `style-src-elem ${cspSource} 'nonce-${nonce}'`,
    `style-src-attr 'unsafe-inline'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource}`,
  ].join('; ');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function consolePageHtml(r: ConsolePageResources, nonce = makeNonce()): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(r.cspSource, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(r.title)}</title>
<link rel="stylesheet" href="${escapeHtml(r.xtermCssUri)}">
<link rel="stylesheet" href="${escapeHtml(r.consoleCssUri)}">
</head>
<body>
<div id="status" role="status" aria-live="polite"></div>
<div id="terminal" aria-label="${escapeHtml(r.title)}"></div>
<script nonce="${nonce}" src="${escapeHtml(r.scriptUri)}"></script>
</body>
</html>`;
}

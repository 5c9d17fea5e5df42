/**
 * The serial console's page. The policy allows our bundle (by nonce), our
 * stylesheets (from the webview's own origin) and nothing remote. xterm.js's
 * DOM renderer adds <style> elements at run time (the bundle gives them the
 * nonce) and sets `style` attributes on cells with true-colour or contrast-
 * adjusted colours, which is why `style-src-attr 'unsafe-inline'` is the one
 * relaxation: attributes cannot load or run anything.
 */
import { escapeHtml, makeNonce, webviewDocument } from './webview-html';

export interface ConsolePageResources {
  cspSource: string;
  scriptUri: string;
  xtermCssUri: string;
  consoleCssUri: string;
  title: string;
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

export function consolePageHtml(r: ConsolePageResources, nonce = makeNonce()): string {
  return webviewDocument({
    csp: contentSecurityPolicy(r.cspSource, nonce),
    title: r.title,
    stylesheets: [r.xtermCssUri, r.consoleCssUri],
    body: `<div id="status" role="status" aria-live="polite"></div>
<div id="terminal" aria-label="${escapeHtml(r.title)}"></div>`,
    scriptUri: r.scriptUri,
    nonce,
  });
}

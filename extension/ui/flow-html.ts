/**
 * The flow views' page. Strict policy: our bundle by nonce, our stylesheet
 * from the webview's origin; `blob:` images only so the page can turn its own
 * SVG into a PNG for export. Everything drawn is SVG the bundle builds with
 * DOM calls (no inline styles, no HTML from data).
 */
import { makeNonce, webviewDocument } from './webview-html';

export interface FlowPageResources {
  cspSource: string;
  scriptUri: string;
  cssUri: string;
  /** media/controls.css: the buttons every page shares. */
  controlsCssUri: string;
  title: string;
}

export function flowContentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} blob:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function flowPageHtml(r: FlowPageResources, nonce = makeNonce()): string {
  return webviewDocument({
    csp: flowContentSecurityPolicy(r.cspSource, nonce),
    title: r.title,
    stylesheets: [r.controlsCssUri, r.cssUri],
    body: `<div id="toolbar">
  <input id="filter" type="text" spellcheck="false" placeholder="Filter (e.g. tcp.flags.syn == 1 || tcp.len > 0)" aria-label="Filter">
  <button id="export-svg" type="button">Export SVG</button>
  <button id="export-png" type="button">Export PNG</button>
  <span id="status" role="status" aria-live="polite"></span>
</div>
<div id="heads"></div>
<div id="scroller" tabindex="0"><div id="spacer"></div></div>
<div id="details" hidden><pre id="decode"></pre><pre id="journey"></pre></div>`,
    scriptUri: r.scriptUri,
    nonce,
  });
}

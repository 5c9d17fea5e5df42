/**
 * The topology page. Its policy allows our bundle and the styles it creates
 * (by nonce), our stylesheet (from the webview's own origin) and images from
 * blob: URLs, which is how the page turns its SVG into a PNG for export.
 * Nothing remote, no inline style attributes but the menu's position.
 */
import { makeNonce, webviewDocument } from './webview-html';

export interface TopologyPageResources {
  cspSource: string;
  scriptUri: string;
  cssUri: string;
  /** media/controls.css: the buttons every page shares. */
  controlsCssUri: string;
}

export function topologyContentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `style-src-elem ${cspSource} 'nonce-${nonce}'`,
    // The part menu is placed where the click was (element.style.left/top).
    `style-src-attr 'unsafe-inline'`,
    `img-src ${cspSource} blob:`,
  ].join('; ');
}

export function topologyPageHtml(r: TopologyPageResources, nonce = makeNonce()): string {
  return webviewDocument({
    csp: topologyContentSecurityPolicy(r.cspSource, nonce),
    title: 'Usernet topology',
    stylesheets: [r.controlsCssUri, r.cssUri],
    body: `<div id="toolbar"><span id="title" role="status" aria-live="polite">Waiting for a VM…</span>
<button id="export-svg" title="Save the picture as an SVG file">Export SVG…</button>
<button id="export-png" title="Save the picture as a PNG file">Export PNG…</button></div>
<div id="diagram"></div>
<div id="menu" role="menu" hidden></div>`,
    scriptUri: r.scriptUri,
    nonce,
  });
}

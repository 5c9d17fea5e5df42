/**
 * The capture editor's page. Its policy allows our bundle (by nonce) and our
 * stylesheet (from the webview's own origin), nothing remote and no inline
 * styles: rows are placed through the CSSOM (element.style), which a policy
 * does not govern.
 */
import { escapeHtml, makeNonce, webviewDocument } from './webview-html';

export interface CapturePageResources {
  cspSource: string;
  scriptUri: string;
  cssUri: string;
  /** media/controls.css: the buttons every page shares. */
  controlsCssUri: string;
  title: string;
}

export function captureContentSecurityPolicy(cspSource: string, nonce: string): string {
  return [`default-src 'none'`, `script-src 'nonce-${nonce}'`, `style-src ${cspSource}`, `font-src ${cspSource}`].join('; ');
}

export function capturePageHtml(r: CapturePageResources, nonce = makeNonce()): string {
  return webviewDocument({
    csp: captureContentSecurityPolicy(r.cspSource, nonce),
    title: r.title,
    stylesheets: [r.controlsCssUri, r.cssUri],
    body: `<div id="toolbar">
<input id="filter" type="text" spellcheck="false" placeholder="Apply a display filter … (tcp.port == 80, dns, pipeline.stage == &quot;slirp_input&quot;)" aria-label="Display filter">
<span id="status" role="status" aria-live="polite">Reading ${escapeHtml(r.title)}…</span>
</div>
<div id="filter-error" role="alert" hidden></div>
<div id="problem" role="alert" hidden></div>
<div id="list" tabindex="0" aria-label="Packets">
<div class="row header"><span>No.</span><span>Time</span><span>Source</span><span>Destination</span><span>Protocol</span><span>Length</span><span>Interface</span><span>Info</span></div>
<div id="viewport"><div id="spacer"></div><div id="rows"></div></div>
</div>
<div id="bottom">
<div id="details" aria-label="Packet details"><p class="hint">Select a packet to see its decode.</p></div>
<pre id="hex" aria-label="Packet bytes"></pre>
</div>`,
    scriptUri: r.scriptUri,
    nonce,
  });
}

/**
 * What every Usernet webview page shares: a fresh nonce per page, HTML
 * escaping, and the document around a page's body (its content security
 * policy, title, stylesheets and one bundle loaded by nonce). Each page keeps
 * its own policy: what it relaxes, and why, is said where it is written.
 */
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface WebviewDocument {
  csp: string;
  title: string;
  stylesheets: string[];
  /** Already HTML: the page's own markup. */
  body: string;
  scriptUri: string;
  nonce: string;
}

export function webviewDocument(d: WebviewDocument): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${d.csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(d.title)}</title>
${d.stylesheets.map((href) => `<link rel="stylesheet" href="${escapeHtml(href)}">`).join('\n')}
</head>
<body>
${d.body}
<script nonce="${d.nonce}" src="${escapeHtml(d.scriptUri)}"></script>
</body>
</html>`;
}

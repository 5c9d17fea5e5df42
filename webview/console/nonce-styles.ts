/**
 * xterm.js's DOM renderer creates <style> elements at run time. The page's
 * policy admits only styles carrying its nonce, so every <style> element made
 * in this page gets it on creation.
 */
export function stampStyleNonces(doc: Document, nonce: string): void {
  if (!nonce) return;
  const create = doc.createElement.bind(doc) as (tag: string, options?: ElementCreationOptions) => HTMLElement;
  doc.createElement = ((tag: string, options?: ElementCreationOptions) => {
    const el = create(tag, options);
    if (tag.toLowerCase() === 'style') el.setAttribute('nonce', nonce);
    return el;
  }) as Document['createElement'];
}

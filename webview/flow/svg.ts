/**
 * Small SVG helpers for the flow views: elements made with DOM calls (text
 * never goes through innerHTML), and an export that bakes the theme's
 * colours in (a saved file has no VS Code theme to read them from).
 */
export const SVG_NS = 'http://www.w3.org/2000/svg';

export function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

export function text(content: string, attrs: Record<string, string | number>, parent: Element): SVGTextElement {
  const t = el('text', attrs, parent);
  t.textContent = content;
  return t;
}

const BAKED = ['fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'font-family', 'font-size', 'font-weight', 'opacity', 'text-anchor'] as const;

/**
 * The SVG as a standalone file: each element gets its computed colours and
 * font as attributes, and the background of the page behind it.
 */
export function exportSvg(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  const originals = [svg, ...Array.from(svg.querySelectorAll('*'))];
  const copies = [copy, ...Array.from(copy.querySelectorAll('*'))];
  originals.forEach((o, i) => {
    const style = getComputedStyle(o);
    const c = copies[i]!;
    for (const p of BAKED) {
      const v = style.getPropertyValue(p);
      if (v) c.setAttribute(p, v);
    }
    c.removeAttribute('class');
  });
  copy.setAttribute('xmlns', SVG_NS);
  const bg = document.createElementNS(SVG_NS, 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', getComputedStyle(document.body).backgroundColor || '#ffffff');
  copy.insertBefore(bg, copy.firstChild);
  return new XMLSerializer().serializeToString(copy);
}

/** The SVG text drawn into a PNG (base64, without the data: prefix). */
export async function svgToPng(svgText: string, width: number, height: number): Promise<string> {
  const url = URL.createObjectURL(new Blob([svgText], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('the browser could not draw the SVG'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas');
    ctx.drawImage(img, 0, 0);
    return canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * Draws the topology model as SVG text: QEMU's user-network picture, guest on
 * the left, the host on the right, the slirp gateway and its DNS between. The
 * layout is fixed (the parts never change, only their text and counters), so
 * coordinates are written here rather than computed by a graph-layout library:
 * one would cost a dependency and a layout pass per update for a picture with
 * five boxes. Colours come from classes (TOPOLOGY_SVG_CSS, VS Code's theme
 * variables); an exported file gets them resolved (exportableSvg).
 */
import type { Count, TopologyModel, TopologyPart } from '../../extension/runtime/topology-model';

export const WIDTH = 560;
const BASE_HEIGHT = 600;
const FORWARD_ROW = 22;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

// Top to bottom, as a packet leaves the guest: tall rather than wide, so the
// picture stays legible in a panel beside the serial console.
const BOXES: Record<'guest' | 'nic' | 'gateway' | 'dns' | 'host', Box> = {
  guest: { x: 30, y: 16, w: 250, h: 104 },
  nic: { x: 30, y: 150, w: 250, h: 76 },
  gateway: { x: 30, y: 316, w: 250, h: 104 },
  dns: { x: 300, y: 316, w: 230, h: 70 },
  host: { x: 30, y: 510, w: 500, h: 70 },
};

/** Where each link runs: down from (x, y1) on its guest side to y2 on its host side. */
const LINKS: Record<'wire' | 'nat' | 'resolver', { x: number; y1: number; y2: number }> = {
  wire: { x: 155, y1: 226, y2: 316 },
  nat: { x: 155, y1: 420, y2: 510 },
  resolver: { x: 415, y1: 386, y2: 510 },
};

export const TOPOLOGY_SVG_CSS = `
.topology { font-family: var(--vscode-font-family, sans-serif); font-size: 12px; }
.topology text { fill: var(--vscode-foreground, #cccccc); }
.topology .node rect.box { fill: var(--vscode-editorWidget-background, #252526); stroke: var(--vscode-focusBorder, #007fd4); stroke-width: 1.5; }
.topology .node.foreign rect.box { stroke-dasharray: 5 3; stroke: var(--vscode-descriptionForeground, #999999); }
.topology .node text.title { font-weight: 600; font-size: 13px; }
.topology text.detail, .topology text.caption { fill: var(--vscode-descriptionForeground, #9d9d9d); }
.topology .link line.wire, .topology line.connector { stroke: var(--vscode-foreground, #cccccc); stroke-width: 2; }
.topology line.connector.internal { stroke-dasharray: 4 3; }
.topology .link line.hit { stroke: transparent; stroke-width: 36; }
.topology text.counter { font-family: var(--vscode-editor-font-family, monospace); font-size: 11px; }
.topology .drops rect { fill: var(--vscode-errorForeground, #f14c4c); }
.topology .drops text { fill: var(--vscode-editor-background, #1e1e1e); font-weight: 600; font-size: 11px; }
.topology .routine rect { fill: none; stroke: var(--vscode-descriptionForeground, #9d9d9d); stroke-width: 1; }
.topology .routine text { fill: var(--vscode-descriptionForeground, #9d9d9d); font-size: 11px; }
.topology .netem rect { fill: var(--vscode-editorWarning-foreground, #cca700); }
.topology .netem text { fill: var(--vscode-editor-background, #1e1e1e); font-weight: 600; font-size: 11px; }
.topology .forward text { fill: var(--vscode-textLink-foreground, #3794ff); }
.topology .forward rect.hit { fill: transparent; }
.topology .forward:focus rect.hit, .topology .forward:hover rect.hit { fill: var(--vscode-list-hoverBackground, rgba(90, 93, 94, 0.31)); }
.topology .part { cursor: pointer; }
.topology .part:focus { outline: none; }
.topology .part:focus rect.box, .topology .part:hover rect.box { stroke-width: 3; }
.topology .part:focus line.wire, .topology .part:hover line.wire { stroke-width: 4; }
`;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** 1234 -> "1.2 kB", as the Sessions view counts. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

const countText = (c: Count) => `${c.frames} pkt · ${formatBytes(c.bytes)}`;

export function svgHeight(model: TopologyModel): number {
  return BASE_HEIGHT + model.forwards.length * FORWARD_ROW;
}

/** The tooltip of a part: its lines, drops and conditions, one per line. */
function tooltip(p: TopologyPart): string {
  return [
    p.title,
    ...p.lines,
    ...(p.toHost ? [`→ host: ${countText(p.toHost)}`] : []),
    ...(p.toGuest ? [`← guest: ${countText(p.toGuest)}`] : []),
    ...(p.dropLines.length ? [p.dropped ? `dropped ${p.dropped}${p.routine ? ` (and ${p.routine} routine)` : ''}:` : `${p.routine} routine drops, no fault:`, ...p.dropLines.map((l) => `  ${l}`)] : []),
    ...(p.conditions.length ? ['conditions:', ...p.conditions.map((c) => `  ${c}`)] : []),
    'Click for capture, breakpoint, sessions, conditions',
  ].join('\n');
}

/** A part's badges, left to right: its drops (red), its routine drops (quiet), its conditions (amber). */
function badgeLabels(p: TopologyPart): Array<readonly [cls: string, label: string]> {
  return ([
    ['drops', p.dropped ? `✕ ${p.dropped} dropped` : ''],
    ['routine', p.routine ? `${p.routine} routine` : ''],
    ['netem', p.conditions.length ? `netem ${p.conditions.length}` : ''],
  ] as const).filter(([, label]) => label);
}

/** The badges of `p` from (x, y) rightwards. */
function badges(p: TopologyPart, x: number, y: number): string {
  let out = '';
  for (const [cls, label] of badgeLabels(p)) {
    const w = badgeWidth(label);
    out += `<g class="${cls}"><rect x="${x}" y="${y}" width="${w}" height="18" rx="9"/><text x="${x + w / 2}" y="${y + 13}" text-anchor="middle">${esc(label)}</text></g>`;
    x += w + 6;
  }
  return out;
}

const badgeWidth = (label: string) => 12 + label.length * 6.5;

/** The badges' total width, to right-align them inside a box. */
function badgesWidth(p: TopologyPart): number {
  return badgeLabels(p).reduce((w, [, l]) => w + badgeWidth(l) + 6, 0);
}

function partAttributes(p: TopologyPart): string {
  const classes = ['part', p.kind, ...(p.foreign ? ['foreign'] : [])].join(' ');
  return `class="${classes}" data-part="${esc(p.id)}" tabindex="0" role="button" aria-label="${esc(`${p.title}: ${p.lines.join(', ')}`)}"`;
}

function node(p: TopologyPart, b: Box): string {
  const lines = p.lines.map((l, i) => `<text class="detail" x="${b.x + 12}" y="${b.y + 44 + i * 17}">${esc(l)}</text>`).join('');
  return `<g ${partAttributes(p)}><title>${esc(tooltip(p))}</title>`
    + `<rect class="box" x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="6"/>`
    + `<text class="title" x="${b.x + 12}" y="${b.y + 22}">${esc(p.title)}</text>${lines}`
    + badges(p, b.x + b.w - badgesWidth(p), b.y + b.h - 24)
    + '</g>';
}

function link(p: TopologyPart, at: { x: number; y1: number; y2: number }): string {
  const tx = at.x + 10;
  const counters = [
    p.toHost ? `<text class="counter" x="${tx}" y="${at.y1 + 42}" data-counter="toHost">↓ ${esc(countText(p.toHost))}</text>` : '',
    p.toGuest ? `<text class="counter" x="${tx}" y="${at.y1 + 58}" data-counter="toGuest">↑ ${esc(countText(p.toGuest))}</text>` : '',
  ].join('');
  return `<g ${partAttributes(p)}><title>${esc(tooltip(p))}</title>`
    + `<line class="hit" x1="${at.x}" y1="${at.y1}" x2="${at.x}" y2="${at.y2}"/>`
    + `<line class="wire" x1="${at.x}" y1="${at.y1}" x2="${at.x}" y2="${at.y2}"/>`
    + `<text class="caption" x="${tx}" y="${at.y1 + 22}">${esc([p.title, ...p.lines].join(' · '))}</text>`
    + counters
    + badges(p, tx, at.y1 + 64)
    + '</g>';
}

/** hostfwd and guestfwd rules, one clickable line each under the host: ↑ toward the guest, ↓ toward the host. */
function forwards(model: TopologyModel): string {
  const host = BOXES.host;
  return model.forwards.map((f, i) => {
    const y = host.y + host.h + 22 + i * FORWARD_ROW;
    const text = `${f.kind === 'hostfwd' ? '↑' : '↓'} ${f.kind} ${f.label}`;
    return `<g class="part forward" data-part="${esc(f.id)}" tabindex="0" role="button" aria-label="${esc(text)}">`
      + `<title>${esc(`${text}\nClick for capture, breakpoint, sessions, conditions`)}</title>`
      + `<rect class="hit" x="${host.x}" y="${y - 15}" width="${host.w}" height="${FORWARD_ROW - 2}" rx="4"/>`
      + `<text x="${host.x + 6}" y="${y}">${esc(text)}</text></g>`;
  }).join('');
}

/** The whole picture as an <svg> element's text. */
export function renderTopologySvg(model: TopologyModel, style = ''): string {
  const h = svgHeight(model);
  const byId = new Map(model.parts.map((p) => [p.id, p]));
  const g = BOXES.guest;
  const n = BOXES.nic;
  const gw = BOXES.gateway;
  const d = BOXES.dns;
  let body = '';
  // The guest's PCI slot and the slirp stack's two faces are fixed wiring, not links with counters.
  body += `<line class="connector" x1="${g.x + g.w / 2}" y1="${g.y + g.h}" x2="${n.x + n.w / 2}" y2="${n.y}"/>`;
  body += `<text class="caption" x="${g.x + g.w / 2 + 10}" y="${(g.y + g.h + n.y) / 2 + 4}">PCI</text>`;
  body += `<line class="connector internal" x1="${gw.x + gw.w}" y1="${d.y + 34}" x2="${d.x}" y2="${d.y + 34}"/>`;
  for (const [id, at] of Object.entries(LINKS)) {
    const p = byId.get(id as keyof typeof LINKS);
    if (p) body += link(p, at);
  }
  for (const [id, box] of Object.entries(BOXES)) {
    const p = byId.get(id as keyof typeof BOXES);
    if (p) body += node(p, box);
  }
  body += forwards(model);
  return `<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="${WIDTH}" height="${h}" viewBox="0 0 ${WIDTH} ${h}" role="img" aria-label="${esc(`Network topology of ${model.title}`)}">`
    + (style ? `<style>${style.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</style>` : '')
    + body + '</svg>';
}

/** TOPOLOGY_SVG_CSS with each var(--name, fallback) replaced by what `resolve` says (the page's computed value), else the fallback. */
export function resolvedCss(resolve: (name: string) => string): string {
  return TOPOLOGY_SVG_CSS.replace(/var\((--[\w-]+)(?:,\s*([^)]*))?\)/g, (_m, name: string, fallback?: string) => resolve(name).trim() || (fallback ?? '').trim());
}

/** A standalone SVG file: the picture with its colours written in, and a background so it reads outside VS Code. */
export function exportableSvg(model: TopologyModel, resolve: (name: string) => string): string {
  const background = resolve('--vscode-editor-background').trim() || '#1e1e1e';
  const svg = renderTopologySvg(model, resolvedCss(resolve));
  const h = svgHeight(model);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.replace('>', `><rect width="${WIDTH}" height="${h}" fill="${esc(background)}"/>`)}`;
}

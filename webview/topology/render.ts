/**
 * Draws the topology model as SVG text: QEMU's user-network picture, guest on
 * the left, the host on the right, the slirp gateway and its DNS between. The
 * layout is fixed (the parts never change, only their text and counters), so
 * coordinates are written here rather than computed by a graph-layout library:
 * one would cost a dependency and a layout pass per update for a picture with
 * five boxes. Colours come from classes (TOPOLOGY_SVG_CSS, VS Code's theme
 * variables); an exported file gets them resolved (exportableSvg).
 */
import type { Count, TopologyModel, TopologyPart } from '../../extension/debug/topology-model';

export const WIDTH = 1080;
const BASE_HEIGHT = 330;
const FORWARD_ROW = 24;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const BOXES: Record<'guest' | 'nic' | 'gateway' | 'dns' | 'host', Box> = {
  guest: { x: 16, y: 40, w: 200, h: 120 },
  nic: { x: 256, y: 60, w: 150, h: 80 },
  gateway: { x: 560, y: 40, w: 210, h: 120 },
  dns: { x: 560, y: 200, w: 210, h: 76 },
  host: { x: 900, y: 40, w: 164, h: 236 },
};

/** Where each link runs: from (x1, y) on its guest side to x2 on its host side. */
const LINKS: Record<'wire' | 'nat' | 'resolver', { x1: number; x2: number; y: number }> = {
  wire: { x1: 406, x2: 560, y: 100 },
  nat: { x1: 770, x2: 900, y: 100 },
  resolver: { x1: 770, x2: 900, y: 238 },
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
.topology .link line.hit { stroke: transparent; stroke-width: 44; }
.topology text.counter { font-family: var(--vscode-editor-font-family, monospace); font-size: 11px; }
.topology .drops rect { fill: var(--vscode-errorForeground, #f14c4c); }
.topology .drops text { fill: var(--vscode-editor-background, #1e1e1e); font-weight: 600; font-size: 11px; }
.topology .netem rect { fill: var(--vscode-editorWarning-foreground, #cca700); }
.topology .netem text { fill: var(--vscode-editor-background, #1e1e1e); font-weight: 600; font-size: 11px; }
.topology .forward line { stroke: var(--vscode-textLink-foreground, #3794ff); stroke-width: 1.5; }
.topology .forward text { fill: var(--vscode-textLink-foreground, #3794ff); }
.topology .forward polygon { fill: var(--vscode-textLink-foreground, #3794ff); }
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
    ...(p.dropped ? [`dropped ${p.dropped}:`, ...p.dropLines.map((l) => `  ${l}`)] : []),
    ...(p.conditions.length ? ['conditions:', ...p.conditions.map((c) => `  ${c}`)] : []),
    'Click for capture, breakpoint, sessions, conditions',
  ].join('\n');
}

/** The red "✕ N" of drops and the amber "netem N" of conditions, from (x, y) rightwards. */
function badges(p: TopologyPart, x: number, y: number): string {
  let out = '';
  if (p.dropped) {
    const label = `✕ ${p.dropped} dropped`;
    const w = 12 + label.length * 6.5;
    out += `<g class="drops"><rect x="${x}" y="${y}" width="${w}" height="18" rx="9"/><text x="${x + w / 2}" y="${y + 13}" text-anchor="middle">${esc(label)}</text></g>`;
    x += w + 6;
  }
  if (p.conditions.length) {
    const label = `netem ${p.conditions.length}`;
    const w = 12 + label.length * 6.5;
    out += `<g class="netem"><rect x="${x}" y="${y}" width="${w}" height="18" rx="9"/><text x="${x + w / 2}" y="${y + 13}" text-anchor="middle">${esc(label)}</text></g>`;
  }
  return out;
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
    + badges(p, b.x + 6, b.y + b.h + 6)
    + '</g>';
}

function link(p: TopologyPart, at: { x1: number; x2: number; y: number }): string {
  const mid = (at.x1 + at.x2) / 2;
  const counters = [
    p.toHost ? `<text class="counter" x="${mid}" y="${at.y - 8}" text-anchor="middle" data-counter="toHost">→ ${esc(countText(p.toHost))}</text>` : '',
    p.toGuest ? `<text class="counter" x="${mid}" y="${at.y + 18}" text-anchor="middle" data-counter="toGuest">← ${esc(countText(p.toGuest))}</text>` : '',
  ].join('');
  return `<g ${partAttributes(p)}><title>${esc(tooltip(p))}</title>`
    + `<line class="hit" x1="${at.x1}" y1="${at.y}" x2="${at.x2}" y2="${at.y}"/>`
    + `<line class="wire" x1="${at.x1}" y1="${at.y}" x2="${at.x2}" y2="${at.y}"/>`
    + `<text class="caption" x="${mid}" y="${at.y - 26}" text-anchor="middle">${esc([p.title, ...p.lines].join(' · '))}</text>`
    + counters
    + badges(p, at.x1 + 4, at.y + 26)
    + '</g>';
}

function forwards(model: TopologyModel): string {
  const guest = BOXES.guest;
  const host = BOXES.host;
  return model.forwards.map((f, i) => {
    const y = BASE_HEIGHT - 14 + i * FORWARD_ROW;
    const [fromX, toX] = f.kind === 'hostfwd' ? [host.x + host.w / 2, guest.x + guest.w / 2] : [guest.x + guest.w / 2, host.x + host.w / 2];
    const dir = Math.sign(toX - fromX);
    const arrow = `${toX},${y} ${toX - dir * 9},${y - 5} ${toX - dir * 9},${y + 5}`;
    return `<g class="forward"><line x1="${fromX}" y1="${y}" x2="${toX - dir * 8}" y2="${y}"/><polygon points="${arrow}"/>`
      + `<text x="${(fromX + toX) / 2}" y="${y - 5}" text-anchor="middle">${esc(`${f.kind} ${f.label}`)}</text></g>`;
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
  body += `<line class="connector" x1="${g.x + g.w}" y1="100" x2="${n.x}" y2="100"/>`;
  body += `<text class="caption" x="${(g.x + g.w + n.x) / 2}" y="92" text-anchor="middle">PCI</text>`;
  body += `<line class="connector internal" x1="${gw.x + gw.w / 2}" y1="${gw.y + gw.h}" x2="${d.x + d.w / 2}" y2="${d.y}"/>`;
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

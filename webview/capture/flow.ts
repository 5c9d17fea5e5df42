/**
 * One conversation as a sequence diagram (Wireshark's Flow Graph, reduced):
 * two lifelines, the endpoints, and an arrow per packet down the page in
 * capture order, labelled with its info; a click selects the packet. SVG made
 * through the DOM, every label set as text.
 */
import type { Conversation, PacketRow } from '../shared/capture-protocol';

const SVG = 'http://www.w3.org/2000/svg';
const STEP = 26;
const TOP = 40;
const LEFT_X = 200;
const RIGHT_X = 640;

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function drawFlow(box: HTMLElement, conversation: Conversation, packets: readonly PacketRow[], onPick: (no: number) => void): void {
  box.hidden = false;
  box.querySelector('#flow-title')!.textContent = `Flow of ${conversation.key} · ${packets.length} packets`;
  const height = TOP + packets.length * STEP + 20;
  const svg = el('svg', { width: RIGHT_X + 200, height, role: 'img', 'aria-label': `Flow of ${conversation.key}` });
  const defs = el('defs', {});
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' });
  marker.appendChild(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow-head' }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  svg.appendChild(el('text', { x: LEFT_X, y: 16, class: 'endpoint', 'text-anchor': 'middle' }, conversation.a));
  svg.appendChild(el('text', { x: RIGHT_X, y: 16, class: 'endpoint', 'text-anchor': 'middle' }, conversation.b));
  for (const x of [LEFT_X, RIGHT_X]) svg.appendChild(el('line', { x1: x, y1: 24, x2: x, y2: height, class: 'lifeline' }));
  packets.forEach((p, i) => {
    const y = TOP + i * STEP;
    // From A (the left lifeline) when it leaves A's address (and port: "40000 → 80" leads a TCP/UDP row's info).
    const port = /^(\d+) → /.exec(p.info)?.[1];
    const fromA = conversation.a === p.source || conversation.a === `${p.source}:${port}` || conversation.a === `[${p.source}]:${port}`;
    const g = el('g', { class: `arrow${/\[[^\]]*(RST)[^\]]*\]/.test(p.info) ? ' reset' : /\[[^\]]*(SYN|FIN)[^\]]*\]/.test(p.info) ? ' control' : ''}`, tabindex: 0, 'data-no': p.no });
    g.appendChild(el('text', { x: 8, y: y + 4, class: 'time' }, `${p.no}  ${p.time}`));
    g.appendChild(el('line', { x1: fromA ? LEFT_X : RIGHT_X, y1: y + 8, x2: fromA ? RIGHT_X : LEFT_X, y2: y + 8, 'marker-end': 'url(#arrow)' }));
    g.appendChild(el('text', { x: (LEFT_X + RIGHT_X) / 2, y: y + 4, 'text-anchor': 'middle', class: 'label' }, p.info.replace(/^\d+ → \d+ /, '')));
    g.addEventListener('click', () => onPick(p.no));
    g.addEventListener('keydown', (e) => { if (e.key === 'Enter') onPick(p.no); });
    svg.appendChild(g);
  });
  box.querySelector('#flow-diagram')!.replaceChildren(svg);
}

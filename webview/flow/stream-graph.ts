/**
 * The TCP stream graph, drawn as SVG: one path per series (not one element
 * per segment), so a long transfer stays a handful of elements. Panels:
 * sequence numbers toward the guest, toward the host (tcptrace style), then
 * our cwnd and the guest's advertised window (bytes) with srtt (ms, right
 * axis). Retransmissions are red, zero-window periods shaded.
 */
import { ticks, type Bar, type DirectionSeries, type Point, type StreamModel } from './stream-model';
import { el, text } from './svg';

const PANEL_HEIGHT = 230;
const MARGIN = { left: 78, right: 70, top: 26, bottom: 30 };

interface Scale {
  x: (t: number) => number;
  y: (v: number) => number;
}

function axes(g: Element, width: number, top: number, maxT: number, maxY: number, yUnit: string, title: string): Scale {
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (t: number) => MARGIN.left + (maxT > 0 ? (t / maxT) * plotW : 0);
  const y = (v: number) => top + MARGIN.top + plotH - (maxY > 0 ? (v / maxY) * plotH : 0);
  text(title, { x: MARGIN.left, y: top + 16, class: 'panel-title' }, g);
  for (const v of ticks(maxY)) {
    el('line', { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(v), y2: y(v), class: 'grid' }, g);
    text(formatValue(v, yUnit), { x: MARGIN.left - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, g);
  }
  for (const t of ticks(maxT, 8)) {
    el('line', { x1: x(t), x2: x(t), y1: top + MARGIN.top, y2: top + PANEL_HEIGHT - MARGIN.bottom, class: 'grid' }, g);
    text(`${(t / 1000).toFixed(maxT < 10_000 ? 3 : 1)} s`, { x: x(t), y: top + PANEL_HEIGHT - MARGIN.bottom + 16, class: 'tick', 'text-anchor': 'middle' }, g);
  }
  el('rect', { x: MARGIN.left, y: top + MARGIN.top, width: plotW, height: plotH, class: 'frame' }, g);
  return { x, y };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

function formatValue(v: number, unit: string): string {
  if (unit === 'ms') return `${+v.toFixed(1)} ms`;
  if (v >= 1 << 20) return `${+(v / (1 << 20)).toFixed(1)} MiB`;
  if (v >= 1024) return `${+(v / 1024).toFixed(1)} KiB`;
  return `${v} B`;
}

const barsPath = (bars: readonly Bar[], s: Scale) => bars.map(([t, a, b]) => `M${s.x(t).toFixed(1)},${s.y(a).toFixed(1)}V${s.y(b).toFixed(1)}`).join('');
const stepPath = (points: readonly Point[], s: Scale) =>
  points.map(([t, v], i) => `${i === 0 ? 'M' : `H${s.x(t).toFixed(1)}V`}${i === 0 ? `${s.x(t).toFixed(1)},${s.y(v).toFixed(1)}` : s.y(v).toFixed(1)}`).join('');

function legend(g: Element, x: number, y: number, entries: Array<[string, string]>): void {
  let at = x;
  for (const [cls, name] of entries) {
    el('line', { x1: at, x2: at + 18, y1: y - 4, y2: y - 4, class: `series ${cls}` }, g);
    const t = text(name, { x: at + 22, y, class: 'tick' }, g);
    at += 30 + name.length * 7;
    void t;
  }
}

function sequencePanel(g: Element, width: number, top: number, maxT: number, d: DirectionSeries, title: string, zero: Array<[number, number]>): void {
  const maxY = Math.max(1, ...d.data.map((b) => b[2]), ...d.retransmissions.map((b) => b[2]), ...d.window.map((p) => p[1]));
  const s = axes(g, width, top, maxT, maxY, 'B', `${title}: ${d.bytes} bytes, ${d.data.length} segments, ${d.retransmissions.length} retransmitted`);
  for (const [a, b] of zero) el('rect', { x: s.x(a), y: top + MARGIN.top, width: Math.max(2, s.x(b) - s.x(a)), height: PANEL_HEIGHT - MARGIN.top - MARGIN.bottom, class: 'zero-window' }, g);
  el('path', { d: stepPath(d.window, s), class: 'series window' }, g);
  el('path', { d: stepPath(d.acks, s), class: 'series ack' }, g);
  el('path', { d: barsPath(d.data, s), class: 'series data' }, g);
  el('path', { d: barsPath(d.retransmissions, s), class: 'series retransmission' }, g);
  legend(g, width - MARGIN.right - 330, top + 16, [['data', 'segments'], ['ack', 'ACK'], ['window', 'window'], ['retransmission', 'retransmitted']]);
}

function statePanel(g: Element, width: number, top: number, model: StreamModel): void {
  const se = model.series;
  const maxT = Math.max(1, se.end);
  const maxBytes = Math.max(1, ...se.cwnd.map((p) => p[1]), ...se.peerWindow.map((p) => p[1]));
  const s = axes(g, width, top, maxT, maxBytes, 'B', 'our cwnd and the guest\'s window (bytes), srtt (ms, right)');
  const maxRtt = Math.max(1, ...se.srtt.map((p) => p[1]));
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const yRtt = (v: number) => top + MARGIN.top + plotH - (v / maxRtt) * plotH;
  for (const v of ticks(maxRtt, 4)) text(`${+v.toFixed(1)} ms`, { x: width - MARGIN.right + 6, y: yRtt(v) + 4, class: 'tick' }, g);
  for (const [a, b] of model.zeroWindows) el('rect', { x: s.x(a), y: top + MARGIN.top, width: Math.max(2, s.x(b) - s.x(a)), height: plotH, class: 'zero-window' }, g);
  el('path', { d: stepPath(se.cwnd, s), class: 'series cwnd' }, g);
  el('path', { d: stepPath(se.peerWindow, s), class: 'series window' }, g);
  el('path', { d: stepPath(se.srtt, { x: s.x, y: yRtt }), class: 'series srtt' }, g);
  el('path', { d: se.retransmitTimes.map((t) => `M${s.x(t).toFixed(1)},${top + MARGIN.top}v${plotH}`).join(''), class: 'series retransmission' }, g);
  legend(g, width - MARGIN.right - 330, top + 16, [['cwnd', 'cwnd'], ['window', 'guest window'], ['srtt', 'srtt'], ['retransmission', 'retransmit']]);
}

/** Draws the whole graph into `svg` at `width`; returns its height. */
export function drawStreamGraph(svg: SVGSVGElement, model: StreamModel, width: number): number {
  svg.replaceChildren();
  const se = model.series;
  const maxT = Math.max(1, se.end);
  sequencePanel(svg, width, 0, maxT, se.toGuest, 'host → guest', model.zeroWindows);
  sequencePanel(svg, width, PANEL_HEIGHT, maxT, se.toHost, 'guest → host', []);
  statePanel(svg, width, 2 * PANEL_HEIGHT, model);
  let height = 3 * PANEL_HEIGHT;
  const wait = se.timeWait;
  if (wait) {
    const to = wait.to !== undefined ? `, closed at ${seconds(wait.to)} (${seconds(wait.to - wait.from)} later)` : ', not closed yet';
    text(`TIME_WAIT from ${seconds(wait.from)}${to}: after the time axis, which ends at the last segment`, { x: MARGIN.left, y: height + 4, class: 'panel-title time-wait' }, svg);
    height += 16;
  }
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  return height;
}

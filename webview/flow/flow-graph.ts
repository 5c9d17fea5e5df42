/**
 * The flow graph: hand-written SVG, virtualised. A sequence diagram is rows
 * of equal height on fixed lifelines, so it needs no layout engine (mermaid
 * lays out the whole diagram asynchronously and would redo it per packet;
 * d3 would only wrap the same DOM calls): the view draws only the rows in the
 * viewport, so 10,000 arrows cost what 40 do, and appending is O(new rows).
 */
import { secondsText, type FlowRow, type Lane } from './flow-model';
import { el, exportSvg, text } from './svg';

export const ROW_HEIGHT = 26;
export const HEAD_HEIGHT = 40;
const TIME_WIDTH = 96;
const LANE_GAP = 280;
const LANE_X: readonly number[] = [TIME_WIDTH + 90, TIME_WIDTH + 90 + LANE_GAP, TIME_WIDTH + 90 + 2 * LANE_GAP];
const COMMENT_X = LANE_X[2]! + 150;
const WIDTH = COMMENT_X + 620;
/** A PNG holds this many rows at most: a canvas taller than ~32,000 pixels is refused by browsers. */
export const MAX_PNG_ROWS = 1200;
/** An SVG export holds every row up to this many (the export message's size limit). */
export const MAX_SVG_ROWS = 50_000;

/**
 * The rows [first, end) a viewport `height` pixels tall scrolled to `top`
 * shows (under the lifeline heads), of `count`: all that is ever drawn.
 */
export function rowsInView(top: number, height: number, count: number): [first: number, end: number] {
  const first = Math.min(count, Math.max(0, Math.floor((top - HEAD_HEIGHT) / ROW_HEIGHT)));
  const end = Math.min(count, Math.ceil((top + height) / ROW_HEIGHT) + 1);
  return [first, Math.max(first, end)];
}

export interface Lifelines {
  guest: string;
  slirp: string;
  host: string;
}

/** Draws the lifeline heads at `y`. */
function drawHeads(svg: Element, lanes: Lifelines, y: number, height: number): void {
  const names = [`guest ${lanes.guest}`, `slirp ${lanes.slirp}`, `host ${lanes.host}`];
  el('rect', { x: 0, y, width: WIDTH, height: HEAD_HEIGHT, class: 'head-bg' }, svg);
  text('Time', { x: 8, y: y + 24, class: 'head' }, svg);
  names.forEach((name, i) => {
    el('line', { x1: LANE_X[i]!, y1: y + HEAD_HEIGHT, x2: LANE_X[i]!, y2: y + height, class: 'lifeline' }, svg);
    text(name, { x: LANE_X[i]!, y: y + 24, class: 'head', 'text-anchor': 'middle' }, svg);
  });
  text('Comment', { x: COMMENT_X, y: y + 24, class: 'head' }, svg);
}

function drawRow(svg: Element, row: FlowRow, top: number, selected: boolean): void {
  const g = el('g', { class: `row tone-${row.tone}${selected ? ' selected' : ''}`, 'data-n': row.n }, svg);
  el('rect', { x: 0, y: top, width: WIDTH, height: ROW_HEIGHT, class: 'row-bg' }, g);
  text(secondsText(row.time), { x: 8, y: top + 17, class: 'time' }, g);
  const y = top + ROW_HEIGHT - 7;
  const x1 = LANE_X[row.from]!;
  const x2 = LANE_X[row.to]!;
  if (row.from === row.to) {
    el('circle', { cx: x1, cy: y, r: 4, class: 'dot' }, g);
    text(row.label, { x: x1 + 10, y: y + 4, class: 'label' }, g);
  } else {
    el('line', { x1, y1: y, x2, y2: y, class: 'arrow' }, g);
    const dir = x2 > x1 ? -1 : 1;
    el('path', { d: `M${x2},${y} l${dir * 9},-4 l0,8 z`, class: 'head-mark' }, g);
    text(row.label, { x: (x1 + x2) / 2, y: y - 5, class: 'label', 'text-anchor': 'middle' }, g);
  }
  text(row.comment, { x: COMMENT_X, y: top + 17, class: 'comment' }, g);
}

/** The graph inside a scrolling element: only the rows in view are drawn. */
export class FlowGraphView {
  private rows: FlowRow[] = [];
  private selected: number | undefined;
  private pending = false;
  private readonly svg: SVGSVGElement;

  constructor(
    private readonly scroller: HTMLElement,
    private readonly spacer: HTMLElement,
    private lanes: Lifelines,
    private readonly onSelect: (row: FlowRow) => void,
  ) {
    this.svg = el('svg', { class: 'graph', width: WIDTH, role: 'img', 'aria-label': 'flow graph' });
    scroller.appendChild(this.svg);
    scroller.addEventListener('scroll', () => this.request());
    new ResizeObserver(() => this.request()).observe(scroller);
    this.svg.addEventListener('click', (e) => {
      const target = (e.target as Element).closest('g.row');
      const n = target ? Number(target.getAttribute('data-n')) : NaN;
      const row = this.rows.find((r) => r.n === n);
      if (row) this.select(row);
    });
    scroller.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
      e.preventDefault();
      const i = this.rows.findIndex((r) => r.n === this.selected);
      const next = this.rows[Math.max(0, Math.min(this.rows.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)))];
      if (next) {
        this.select(next);
        this.reveal(next);
      }
    });
  }

  setLanes(lanes: Lifelines): void {
    this.lanes = lanes;
    this.request();
  }

  /** Shows `rows` (all, or what the filter kept); keeps the view at the bottom if it was there. */
  setRows(rows: FlowRow[]): void {
    // Follow a live flow only once the user is at its end (a first look starts at the handshake).
    const atBottom = this.rows.length > 0 && this.scroller.scrollTop > 0 && this.scroller.scrollTop + this.scroller.clientHeight >= this.spacer.offsetHeight - ROW_HEIGHT;
    this.rows = rows;
    this.spacer.style.height = `${HEAD_HEIGHT + rows.length * ROW_HEIGHT}px`;
    this.spacer.style.width = `${WIDTH}px`;
    if (atBottom && rows.length) this.scroller.scrollTop = this.spacer.offsetHeight;
    this.request();
  }

  get rowCount(): number {
    return this.rows.length;
  }

  private select(row: FlowRow): void {
    this.selected = row.n;
    this.request();
    this.onSelect(row);
  }

  private reveal(row: FlowRow): void {
    const i = this.rows.indexOf(row);
    const top = HEAD_HEIGHT + i * ROW_HEIGHT;
    if (top < this.scroller.scrollTop + HEAD_HEIGHT) this.scroller.scrollTop = top - HEAD_HEIGHT;
    else if (top + ROW_HEIGHT > this.scroller.scrollTop + this.scroller.clientHeight) this.scroller.scrollTop = top + ROW_HEIGHT - this.scroller.clientHeight;
  }

  private request(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  private render(): void {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight;
    this.svg.replaceChildren();
    this.svg.setAttribute('height', String(height));
    this.svg.setAttribute('viewBox', `0 ${top} ${WIDTH} ${height}`);
    this.svg.style.top = `${top}px`;
    const [first, end] = rowsInView(top, height, this.rows.length);
    drawHeads(this.svg, this.lanes, top, height);
    for (let i = first; i < end; i++) drawRow(this.svg, this.rows[i]!, HEAD_HEIGHT + i * ROW_HEIGHT, this.rows[i]!.n === this.selected);
    // The heads stay on top of rows scrolled under them.
    const heads = Array.from(this.svg.querySelectorAll(".head-bg, .head"));
    for (const h of heads) this.svg.appendChild(h);
  }

  /** The first row in view (a PNG export starts there). */
  get firstInView(): number {
    return rowsInView(this.scroller.scrollTop, this.scroller.clientHeight, this.rows.length)[0];
  }

  /** `count` rows from `from` (all by default, up to MAX_SVG_ROWS) as a standalone SVG, its size, and the rows it holds. */
  exportSvg(from = 0, count = MAX_SVG_ROWS): { svg: string; width: number; height: number; from: number; to: number; of: number } {
    const rows = this.rows.slice(from, from + count);
    const height = HEAD_HEIGHT + rows.length * ROW_HEIGHT + 8;
    const svg = el('svg', { class: 'graph export', width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}` });
    document.body.appendChild(svg);
    try {
      drawHeads(svg, this.lanes, 0, height);
      rows.forEach((r, i) => drawRow(svg, r, HEAD_HEIGHT + i * ROW_HEIGHT, false));
      return { svg: exportSvg(svg), width: WIDTH, height, from, to: from + rows.length, of: this.rows.length };
    } finally {
      svg.remove();
    }
  }
}

export type { Lane };

/**
 * The flow views' page: the flow graph or the TCP stream graph of one flow,
 * fed by the host (extension/ui/flow-panel.ts) with items as they come.
 * Every message is checked (flow-protocol.ts) before it is used.
 */
import { isFlowHostMessage, type FlowHostMessage, type FlowViewKind, type FlowWebviewMessage } from '../shared/flow-protocol';
import { FlowGraphView, MAX_PNG_ROWS, MAX_SVG_ROWS } from './flow-graph';
import { FlowRows, visibleRows } from './flow-model';
import { drawStreamGraph } from './stream-graph';
import { StreamModel } from './stream-model';
import { el, exportSvg, svgToPng } from './svg';

declare function acquireVsCodeApi(): { postMessage(m: FlowWebviewMessage): void };
const vscode = acquireVsCodeApi();
const post = (m: FlowWebviewMessage) => vscode.postMessage(m);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const filterBox = $<HTMLInputElement>('filter');
const status = $('status');
const scroller = $('scroller');
const spacer = $('spacer');
const details = $('details');

let view: FlowViewKind = 'flow';
/** Items before 'init' were read for an earlier page (the host restarts from the first after our 'ready'). */
let initialized = false;
let live = false;
const rows = new FlowRows();
const stream = new StreamModel();
let matches: Set<number> | undefined;
let info = { forgotten: 0, closed: false, state: '', filterError: '' };
let lanes = { guest: '', slirp: '', host: '' };
let graph: FlowGraphView | undefined;
let streamSvg: SVGSVGElement | undefined;
let streamTimer: ReturnType<typeof setTimeout> | undefined;

function showStatus(): void {
  const parts: string[] = [];
  if (view === 'flow') {
    const shown = graph?.rowCount ?? 0;
    parts.push(matches ? `${shown} of ${rows.rows.length} rows` : `${rows.rows.length} rows`);
  } else {
    const s = stream.series;
    parts.push(`${s.toGuest.data.length + s.toHost.data.length} data segments, ${s.toGuest.retransmissions.length + s.toHost.retransmissions.length} retransmitted`);
  }
  if (info.forgotten) parts.push(`${info.forgotten} items not kept (while no view was open, or past the limit)`);
  parts.push(live && !info.closed ? `live, ${info.state}` : info.state);
  if (info.filterError) parts.push(`filter: ${info.filterError}`);
  status.textContent = parts.join(' · ');
  status.classList.toggle('error', info.filterError !== '');
}

function refreshRows(): void {
  graph?.setRows(visibleRows(rows.rows, matches));
  showStatus();
}

function drawStream(): void {
  streamTimer = undefined;
  if (!streamSvg) return;
  drawStreamGraph(streamSvg, stream, Math.max(640, scroller.clientWidth - 16));
  showStatus();
}

function init(m: Extract<FlowHostMessage, { type: 'init' }>): void {
  if (initialized) return;
  initialized = true;
  view = m.view;
  live = m.live;
  lanes = { guest: m.endpoints.guest, slirp: m.endpoints.slirp, host: m.endpoints.host || m.endpoints.slirp };
  document.title = m.title;
  document.body.classList.add(`view-${view}`);
  if (view === 'flow') {
    graph ??= new FlowGraphView(scroller, spacer, lanes, (row) => {
      if (row.packet) post({ type: 'select', n: row.n });
    });
  } else {
    filterBox.hidden = true;
    streamSvg ??= el('svg', { class: 'stream', role: 'img', 'aria-label': 'TCP stream graph' }, scroller);
    new ResizeObserver(() => scheduleStream()).observe(scroller);
  }
  showStatus();
}

function scheduleStream(): void {
  streamTimer ??= setTimeout(drawStream, 250);
}

function showDetail(m: Extract<FlowHostMessage, { type: 'detail' }>): void {
  details.hidden = false;
  const lines: string[] = [];
  if (m.error) lines.push(m.error);
  for (const [layer, fields] of Object.entries(m.fields)) {
    lines.push(layer);
    for (const [name, value] of Object.entries(fields)) lines.push(`  ${name} = ${value}`);
  }
  $('decode').textContent = lines.join('\n');
  $('journey').textContent = m.journey ?? '';
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const m = e.data;
  if (!isFlowHostMessage(m)) {
    console.warn('flow view: dropping a malformed message');
    return;
  }
  switch (m.type) {
    case 'init':
      return init(m);
    case 'items':
      if (!initialized) return;
      info = { ...info, forgotten: m.forgotten, closed: m.closed, state: m.state };
      if (m.host && m.host !== lanes.host) {
        lanes = { ...lanes, host: m.host };
        graph?.setLanes(lanes);
      }
      // A poll that brought nothing changes only the status: redrawing would replace the rows under the pointer.
      if (!m.items.length) return showStatus();
      if (view === 'flow') {
        rows.append(m.items);
        // New packets are not known to the filter yet: ask again for what it keeps.
        if (matches) post({ type: 'filter', text: filterBox.value });
        return refreshRows();
      }
      stream.add(m.items);
      return scheduleStream();
    case 'filtered':
      if (m.text !== filterBox.value) return;
      info.filterError = m.error ?? '';
      if (!m.error) matches = m.matches ? new Set(m.matches) : undefined;
      return refreshRows();
    case 'detail':
      return showDetail(m);
    case 'theme':
      return view === 'stream' ? scheduleStream() : refreshRows();
  }
});

let filterTimer: ReturnType<typeof setTimeout> | undefined;
filterBox.addEventListener('input', () => {
  if (filterTimer) clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    if (filterBox.value.trim() === '') {
      matches = undefined;
      info.filterError = '';
      refreshRows();
    }
    post({ type: 'filter', text: filterBox.value });
  }, 250);
});

/** The picture to export: for the flow graph, every row (SVG) or MAX_PNG_ROWS from the first in view (PNG). */
function picture(format: 'svg' | 'png'): { svg: string; width: number; height: number; note?: string } | undefined {
  if (view === 'flow') {
    if (!graph) return undefined;
    const p = format === 'png' ? graph.exportSvg(graph.firstInView, MAX_PNG_ROWS) : graph.exportSvg();
    const all = p.from === 0 && p.to === p.of;
    const note = all ? undefined : `${format.toUpperCase()}: rows ${p.from + 1}–${p.to} of ${p.of} exported${format === 'png' ? ` (a PNG holds ${MAX_PNG_ROWS} rows, from the first in view; Export SVG takes them all)` : ''}`;
    return { ...p, ...(note ? { note } : {}) };
  }
  if (!streamSvg) return undefined;
  return { svg: exportSvg(streamSvg), width: Number(streamSvg.getAttribute('width')), height: Number(streamSvg.getAttribute('height')) };
}

/** What an export left out stays said in the status line until the next update. */
function exported(note: string | undefined): void {
  if (note) status.textContent = note;
}

$('export-svg').addEventListener('click', () => {
  const p = picture('svg');
  if (!p) return;
  post({ type: 'export', format: 'svg', data: p.svg });
  exported(p.note);
});
$('export-png').addEventListener('click', () => {
  const p = picture('png');
  if (!p) return;
  svgToPng(p.svg, p.width, p.height).then(
    (data) => {
      post({ type: 'export', format: 'png', data });
      exported(p.note);
    },
    (e: unknown) => {
      status.textContent = `PNG export failed: ${e instanceof Error ? e.message : String(e)}`;
    },
  );
});
$('export-svg').title = `Every row the filter shows (up to ${MAX_SVG_ROWS})`;
$('export-png').title = `${MAX_PNG_ROWS} rows from the first in view (a PNG can be no taller)`;

post({ type: 'ready' });

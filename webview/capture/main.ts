/**
 * The capture editor's page: a virtualised packet list (only the rows in view
 * exist in the DOM; rows are asked of the extension a chunk at a time), the
 * filter box, the decode as a tree, the bytes as hex + ASCII, and Show Flow
 * (the flow view opens on the packet's conversation). Every text from the
 * file goes in through textContent, never as markup.
 */
import { base64ToBytes } from '../shared/base64';
import { isCaptureHostMessage, type CaptureHostMessage, type CaptureWebviewMessage, type PacketRow } from '../shared/capture-protocol';
import { hexDump } from './hex';

interface VsCodeApi { postMessage(message: unknown): void }
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();
const post = (m: CaptureWebviewMessage) => vscode.postMessage(m);

const ROW_HEIGHT = 22;
const CHUNK = 200;
const $ = (id: string) => document.getElementById(id)!;
const filterBox = $('filter') as HTMLInputElement;
const status = $('status');
const filterError = $('filter-error');
const problem = $('problem');
const list = $('list');
const viewport = $('viewport');
const spacer = $('spacer');
const rowsBox = $('rows');
const details = $('details');
const hex = $('hex');

let total = 0;
let shown = 0;
let generation = -1;
/** Rows of the current list by position; a new filter empties it. */
let rows = new Map<number, PacketRow>();
const asked = new Set<number>();
let selected: number | undefined;

function setStatus(): void {
  status.textContent = shown === total ? `${total} packets` : `${shown} of ${total} packets shown`;
}

/** Asks for the chunks that cover positions first..last that are neither here nor asked for. */
function ensure(first: number, last: number): void {
  for (let chunk = Math.floor(first / CHUNK); chunk * CHUNK <= last && chunk * CHUNK < shown; chunk++) {
    if (asked.has(chunk)) continue;
    asked.add(chunk);
    post({ type: 'rows', start: chunk * CHUNK, count: CHUNK });
  }
}

const CELLS: Array<(r: PacketRow) => string> = [
  (r) => String(r.no), (r) => r.time, (r) => r.source, (r) => r.destination, (r) => r.protocol, (r) => String(r.length), (r) => r.iface, (r) => r.info,
];

function render(): void {
  const first = Math.floor(viewport.scrollTop / ROW_HEIGHT);
  const count = Math.min(shown - first, Math.ceil(viewport.clientHeight / ROW_HEIGHT) + 1);
  ensure(first, first + count);
  rowsBox.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
  // Reuse the row elements: a scroll rewrites the text of the rows in view, nothing else.
  while (rowsBox.children.length < count) {
    const el = document.createElement('div');
    el.className = 'row';
    for (let i = 0; i < CELLS.length; i++) el.appendChild(document.createElement('span'));
    rowsBox.appendChild(el);
  }
  while (rowsBox.children.length > Math.max(0, count)) rowsBox.lastElementChild!.remove();
  for (let i = 0; i < count; i++) {
    const el = rowsBox.children[i] as HTMLElement;
    const r = rows.get(first + i);
    el.dataset.position = String(first + i);
    el.dataset.no = r ? String(r.no) : '';
    el.className = `row${r?.no === selected ? ' selected' : ''}${r?.commented ? ' commented' : ''} proto-${(r?.protocol ?? '').toLowerCase()}`;
    CELLS.forEach((cell, c) => { (el.children[c] as HTMLElement).textContent = r ? cell(r) : c === 0 ? '…' : ''; });
    if (r?.commented) el.title = 'This packet has comments (journey, stage, NAT mapping): select it to read them';
    else el.removeAttribute('title');
  }
}

function select(no: number): void {
  selected = no;
  post({ type: 'select', no });
  render();
}

function positionOf(no: number | undefined): number | undefined {
  if (no === undefined) return undefined;
  for (const [pos, r] of rows) if (r.no === no) return pos;
  return undefined;
}

function moveSelection(by: number): void {
  const here = positionOf(selected) ?? (by > 0 ? -1 : shown);
  const next = Math.max(0, Math.min(shown - 1, here + by));
  const r = rows.get(next);
  if (!r) return;
  const top = next * ROW_HEIGHT;
  if (top < viewport.scrollTop) viewport.scrollTop = top;
  else if (top + ROW_HEIGHT > viewport.scrollTop + viewport.clientHeight) viewport.scrollTop = top + ROW_HEIGHT - viewport.clientHeight;
  select(r.no);
}

function showDetails(m: Extract<CaptureHostMessage, { type: 'details' }>): void {
  details.replaceChildren();
  const head = document.createElement('div');
  head.className = 'details-head';
  const title = document.createElement('strong');
  title.textContent = `Packet ${m.no}`;
  head.appendChild(title);
  if (m.conversation) {
    const button = document.createElement('button');
    button.id = 'show-flow';
    button.textContent = 'Show Flow';
    button.title = `The conversation ${m.conversation.key} in the flow view`;
    button.addEventListener('click', () => post({ type: 'showFlow', no: m.no }));
    const only = document.createElement('button');
    only.textContent = 'Filter on Conversation';
    only.title = m.conversation.filter;
    only.addEventListener('click', () => { filterBox.value = m.conversation!.filter; applyFilter(); });
    head.append(button, only);
  }
  details.appendChild(head);
  if (m.comments.length) {
    const box = document.createElement('div');
    box.className = 'comments';
    for (const c of m.comments) {
      const line = document.createElement('div');
      line.textContent = c;
      box.appendChild(line);
    }
    details.appendChild(box);
  }
  for (const [layer, fields] of Object.entries(m.tree)) {
    const section = document.createElement('details');
    section.open = true;
    const summary = document.createElement('summary');
    summary.textContent = layer;
    section.appendChild(summary);
    for (const [name, value] of Object.entries(fields)) {
      const field = document.createElement('div');
      field.className = 'field';
      const n = document.createElement('span');
      n.className = 'name';
      n.textContent = name;
      const v = document.createElement('span');
      v.className = 'value';
      v.textContent = value;
      field.append(n, v);
      section.appendChild(field);
    }
    details.appendChild(section);
  }
  hex.textContent = hexDump(base64ToBytes(m.bytes));
}

function applyFilter(): void {
  post({ type: 'filter', text: filterBox.value });
}

function receive(m: CaptureHostMessage): void {
  switch (m.type) {
    case 'opened':
      total = m.total;
      document.title = m.fileName;
      status.title = `${m.format}; interfaces: ${m.interfaces.join(', ')}`;
      problem.textContent = [m.problem, m.skipped].filter(Boolean).join(' · ');
      problem.hidden = !m.problem && !m.skipped;
      problem.classList.toggle('warning', !!m.problem);
      return;
    case 'failed':
      status.textContent = 'Cannot show this file';
      problem.textContent = m.message;
      problem.hidden = false;
      problem.classList.add('warning');
      list.hidden = true;
      return;
    case 'filtered':
      generation = m.generation;
      shown = m.shown;
      rows = new Map();
      asked.clear();
      filterError.hidden = true;
      filterBox.classList.remove('invalid');
      filterBox.classList.toggle('applied', m.filter !== '');
      spacer.style.height = `${shown * ROW_HEIGHT}px`;
      viewport.scrollTop = 0;
      setStatus();
      render();
      return;
    case 'filterError':
      filterBox.classList.add('invalid');
      filterError.textContent = `${m.message}${m.column ? `\n${m.filter}\n${' '.repeat(m.column - 1)}^` : ''}`;
      filterError.hidden = false;
      return;
    case 'rows':
      if (m.generation !== generation) return;
      m.rows.forEach((r, i) => rows.set(m.start + i, r));
      render();
      return;
    case 'details':
      if (m.no === selected) showDetails(m);
      return;
  }
}

window.addEventListener('message', (e: MessageEvent) => {
  if (isCaptureHostMessage(e.data)) receive(e.data);
  else console.warn('capture editor: refused a message from the extension');
});
viewport.addEventListener('scroll', () => render(), { passive: true });
new ResizeObserver(() => render()).observe(viewport);
rowsBox.addEventListener('click', (e) => {
  const row = (e.target as HTMLElement).closest<HTMLElement>('.row');
  const no = Number(row?.dataset.no);
  if (no) select(no);
});
list.addEventListener('keydown', (e) => {
  const page = Math.max(1, Math.floor(viewport.clientHeight / ROW_HEIGHT) - 1);
  const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, End: shown, Home: -shown };
  const by = moves[e.key];
  if (by === undefined) return;
  e.preventDefault();
  moveSelection(by);
});
filterBox.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') applyFilter();
  if (e.key === 'Escape' && filterBox.value) { filterBox.value = ''; applyFilter(); }
});
post({ type: 'ready' });

/**
 * The topology page: draws each model the extension sends (render.ts), opens a
 * menu on the part clicked (or focused and Enter), and exports the picture as
 * SVG or PNG with the theme's colours written in. What an action does is the
 * extension's business: the page names the part and the action, nothing more.
 */
import type { PartAction, TopologyForward, TopologyModel, TopologyPart } from '../../extension/runtime/topology-model';
import { stampStyleNonces } from '../console/nonce-styles';
import { isTopologyHostMessage, type TopologyWebviewMessage } from '../shared/topology-protocol';
import { exportableSvg, renderTopologySvg, svgHeight, TOPOLOGY_SVG_CSS, WIDTH } from './render';

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const post = (m: TopologyWebviewMessage) => vscode.postMessage(m);

stampStyleNonces(document, (document.currentScript as HTMLScriptElement | null)?.nonce ?? '');
const sheet = document.createElement('style');
sheet.textContent = TOPOLOGY_SVG_CSS;
document.head.appendChild(sheet);

const diagram = document.getElementById('diagram')!;
const title = document.getElementById('title')!;
const menu = document.getElementById('menu')!;
let model: TopologyModel | undefined;
let menuPart: string | undefined;

/** What a click opens a menu on: a box, a link or a forward rule. */
type Clickable = TopologyPart | TopologyForward;

const MENU: Array<{ action: PartAction; label: string; available: (p: Clickable) => boolean }> = [
  { action: 'capture', label: 'Capture its traffic…', available: (p) => p.targets.capture !== undefined },
  { action: 'break', label: 'Break on it', available: (p) => p.targets.break !== undefined },
  { action: 'sessions', label: 'Show its NAT sessions', available: (p) => p.targets.sessions !== undefined },
  { action: 'conditions', label: 'Simulate Conditions…', available: (p) => (p.targets.conditions?.length ?? 0) > 0 },
];

function draw(): void {
  if (!model) return;
  const focused = (document.activeElement as Element | null)?.getAttribute?.('data-part');
  title.textContent = `${model.title} · ${model.state} · ${model.engine === 'qemu' ? 'QEMU engine' : 'embedded engine'}`;
  diagram.innerHTML = renderTopologySvg(model);
  // Redrawing four times a second must not take the keyboard focus away.
  if (focused) (diagram.querySelector(`[data-part="${focused}"]`) as SVGElement | null)?.focus();
}

function openMenu(partId: string, x: number, y: number): void {
  const part: Clickable | undefined = model?.parts.find((p) => p.id === partId) ?? model?.forwards.find((f) => f.id === partId);
  if (!part) return;
  menuPart = partId;
  menu.replaceChildren();
  const heading = document.createElement('div');
  heading.className = 'menu-title';
  heading.textContent = part.title;
  menu.appendChild(heading);
  for (const item of MENU) {
    const button = document.createElement('button');
    button.textContent = item.label;
    button.setAttribute('role', 'menuitem');
    button.dataset.action = item.action;
    button.disabled = !item.available(part);
    if ('foreign' in part && part.foreign && button.disabled) button.title = "QEMU's own device: nothing of ours runs there";
    button.addEventListener('click', () => {
      closeMenu();
      post({ type: 'action', part: part.id, action: item.action });
    });
    menu.appendChild(button);
  }
  menu.hidden = false;
  const width = menu.offsetWidth;
  const height = menu.offsetHeight;
  menu.style.left = `${Math.max(0, Math.min(x, window.innerWidth - width - 4))}px`;
  menu.style.top = `${Math.max(0, Math.min(y, window.innerHeight - height - 4))}px`;
  (menu.querySelector('button:not([disabled])') as HTMLButtonElement | null)?.focus();
}

function closeMenu(): void {
  menu.hidden = true;
  menuPart = undefined;
}

diagram.addEventListener('click', (e) => {
  const part = (e.target as Element).closest('[data-part]');
  if (!part) return closeMenu();
  e.stopPropagation();
  openMenu(part.getAttribute('data-part')!, e.clientX, e.clientY);
});
diagram.addEventListener('keydown', (e) => {
  const part = (e.target as Element).closest('[data-part]');
  if (!part || (e.key !== 'Enter' && e.key !== ' ')) return;
  e.preventDefault();
  const r = part.getBoundingClientRect();
  openMenu(part.getAttribute('data-part')!, r.left + 8, r.top + 8);
});
document.addEventListener('click', (e) => {
  if (!menu.hidden && !menu.contains(e.target as Node)) closeMenu();
});
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || menu.hidden) return;
  const part = menuPart;
  closeMenu();
  if (part) (diagram.querySelector(`[data-part="${part}"]`) as SVGElement | null)?.focus();
});

const cssVariable = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name);

document.getElementById('export-svg')!.addEventListener('click', () => {
  if (model) post({ type: 'export', format: 'svg', data: exportableSvg(model, cssVariable) });
});
document.getElementById('export-png')!.addEventListener('click', () => {
  if (!model) return;
  const height = svgHeight(model);
  const url = URL.createObjectURL(new Blob([exportableSvg(model, cssVariable)], { type: 'image/svg+xml' }));
  const image = new Image();
  image.onload = () => {
    // Twice the size: sharp on high-density screens and in documents.
    const canvas = document.createElement('canvas');
    canvas.width = WIDTH * 2;
    canvas.height = height * 2;
    const ctx = canvas.getContext('2d')!;
    ctx.scale(2, 2);
    ctx.drawImage(image, 0, 0);
    URL.revokeObjectURL(url);
    post({ type: 'export', format: 'png', data: canvas.toDataURL('image/png') });
  };
  image.onerror = () => URL.revokeObjectURL(url);
  image.src = url;
});

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const m = e.data;
  if (!isTopologyHostMessage(m)) {
    console.warn('topology: ignoring a malformed message');
    return;
  }
  if (m.type === 'empty') {
    model = undefined;
    closeMenu();
    title.textContent = m.message;
    diagram.replaceChildren();
    return;
  }
  model = m.model;
  draw();
});

post({ type: 'ready' });

/**
 * A horizontal bar chart as a self-contained SVG: the median as the bar, the
 * min-max range as a whisker, failures written out instead of drawn. Generic
 * font families only, no external references.
 */
import type { Chart } from './report';
import { fmt } from './stats';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const COLORS = ['#3b7dd8', '#e0823d', '#4fa36b', '#9b6bd0', '#c9504f'];

export function renderChart(chart: Chart): string {
  const labelWidth = 190;
  const plotWidth = 360;
  const valueWidth = 150;
  const barHeight = 22;
  const gap = 10;
  const top = 46;
  const width = labelWidth + plotWidth + valueWidth + 20;
  const height = top + chart.bars.length * (barHeight + gap) + 10;
  const max = Math.max(...chart.bars.map((b) => Math.max(b.max ?? 0, b.value ?? 0)), 1e-12);
  const x = (v: number) => labelWidth + (v / max) * plotWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold" fill="#222">${esc(chart.title)}</text>`,
    `<text x="10" y="37" font-size="11" fill="#666">${esc(chart.unit)}, ${chart.higherIsBetter ? 'higher is better' : 'lower is better'}; bar = median, whisker = min-max</text>`,
  ];
  chart.bars.forEach((b, i) => {
    const y = top + i * (barHeight + gap);
    const color = COLORS[i % COLORS.length];
    parts.push(`<text x="${labelWidth - 8}" y="${y + barHeight / 2 + 4}" text-anchor="end" fill="#222">${esc(b.label)}</text>`);
    if (b.value === null) {
      parts.push(`<text x="${labelWidth + 4}" y="${y + barHeight / 2 + 4}" fill="#b00020">${esc(b.note ?? 'no figure')}</text>`);
      return;
    }
    parts.push(`<rect x="${labelWidth}" y="${y}" width="${Math.max(1, x(b.value) - labelWidth).toFixed(1)}" height="${barHeight}" fill="${color}"/>`);
    if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
      const cy = y + barHeight / 2;
      parts.push(
        `<path d="M${x(b.min).toFixed(1)} ${cy}H${x(b.max).toFixed(1)}M${x(b.min).toFixed(1)} ${cy - 5}V${cy + 5}M${x(b.max).toFixed(1)} ${cy - 5}V${cy + 5}" stroke="#222" stroke-width="1.2" fill="none"/>`,
      );
    }
    const range = b.min !== undefined && b.max !== undefined && b.max > b.min ? ` [${fmt(b.min)}-${fmt(b.max)}]` : '';
    parts.push(`<text x="${labelWidth + plotWidth + 8}" y="${y + barHeight / 2 + 4}" fill="#222">${esc(fmt(b.value) + range)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

import type { Bin } from './stats';

/** Inline SVG charts for the HTML report: no scripts, no external assets, readable when printed. */

/** One series of a grouped bar chart. */
export interface Series {
  name: string;
  color: string;
  values: number[];
}

const W = 640;
const H = 280;
const PAD = { left: 64, right: 16, top: 48, bottom: 48 };
const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

/** Escapes text for HTML and SVG. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A 1/2/5 × 10^n step that splits `max` into about five gridlines. */
function niceStep(max: number): number {
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
}

function fmt(v: number): string {
  if (Number.isInteger(v) || Math.abs(v) >= 100) return v.toFixed(0);
  return Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function frame(
  title: string,
  yMax: number,
  unit: string,
): { parts: string[]; y(v: number): number; top: number } {
  const step = niceStep(yMax);
  const top = Math.ceil(yMax / step) * step || 1;
  const plotH = H - PAD.top - PAD.bottom;
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const parts = [`<text x="${PAD.left}" y="20" font-weight="600" ${FONT}>${esc(title)}</text>`];
  for (let v = 0; v <= top + step / 2; v += step) {
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end" ${FONT}>${fmt(v)}</text>`,
    );
  }
  parts.push(
    `<text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle" ${FONT}>${esc(unit)}</text>`,
  );
  return { parts, y, top };
}

function svg(parts: string[], label: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}">${parts.join('')}</svg>`;
}

/** Bars grouped by category, one colour per series, values printed above the bars, legend on top. */
export function groupedBars(title: string, categories: string[], series: Series[], unit: string): string {
  const max = Math.max(...series.flatMap((s) => s.values).filter(Number.isFinite), 0);
  const { parts, y } = frame(title, max * 1.1, unit);
  const plotW = W - PAD.left - PAD.right;
  const groupW = plotW / Math.max(1, categories.length);
  const barW = (groupW * 0.8) / Math.max(1, series.length);
  categories.forEach((cat, ci) => {
    const x0 = PAD.left + ci * groupW + groupW * 0.1;
    series.forEach((s, si) => {
      const v = s.values[ci] ?? 0;
      const x = x0 + si * barW;
      parts.push(
        `<rect x="${x}" y="${y(v)}" width="${barW - 2}" height="${y(0) - y(v)}" fill="${s.color}"><title>${esc(`${s.name} ${cat}: ${fmt(v)} ${unit}`)}</title></rect>`,
        `<text x="${x + barW / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="10" font-family="system-ui, sans-serif">${fmt(v)}</text>`,
      );
    });
    parts.push(
      `<text x="${x0 + groupW * 0.4}" y="${H - PAD.bottom + 16}" text-anchor="middle" ${FONT}>${esc(cat)}</text>`,
    );
  });
  series.forEach((s, si) => {
    const x = PAD.left + 110 * si;
    parts.push(
      `<rect x="${x}" y="27" width="12" height="12" fill="${s.color}"/>`,
      `<text x="${x + 16}" y="37" ${FONT}>${esc(s.name)}</text>`,
    );
  });
  return svg(parts, title);
}

/** A histogram with labelled vertical markers (e.g. p50, p99, a goal). */
export function histogramChart(
  title: string,
  bins: Bin[],
  unit: string,
  markers: { label: string; value: number; color: string }[],
): string {
  const max = Math.max(...bins.map((b) => b.count), 1);
  const { parts, y } = frame(title, max * 1.1, 'count');
  const lo = bins[0]?.from ?? 0;
  const hi = Math.max(bins[bins.length - 1]?.to ?? 1, ...markers.map((m) => m.value));
  const plotW = W - PAD.left - PAD.right;
  const x = (v: number) => PAD.left + ((v - lo) / (hi - lo || 1)) * plotW;
  for (const b of bins) {
    parts.push(
      `<rect x="${x(b.from)}" y="${y(b.count)}" width="${Math.max(1, x(b.to) - x(b.from) - 1)}" height="${y(0) - y(b.count)}" fill="#4e79a7"><title>${fmt(b.from)}–${fmt(b.to)} ${esc(unit)}: ${b.count}</title></rect>`,
    );
  }
  const ticks = niceStep(hi - lo);
  for (let v = Math.ceil(lo / ticks) * ticks; v <= hi; v += ticks) {
    parts.push(`<text x="${x(v)}" y="${H - PAD.bottom + 16}" text-anchor="middle" ${FONT}>${fmt(v)}</text>`);
  }
  parts.push(
    `<text x="${PAD.left + plotW / 2}" y="${H - 8}" text-anchor="middle" ${FONT}>${esc(unit)}</text>`,
  );
  markers.forEach((m, i) => {
    // Labels near the right edge go to the left of their line so they stay inside the chart.
    const right = x(m.value) > W - 120;
    parts.push(
      `<line x1="${x(m.value)}" x2="${x(m.value)}" y1="${PAD.top}" y2="${y(0)}" stroke="${m.color}" stroke-dasharray="4 3"/>`,
      `<text x="${x(m.value) + (right ? -4 : 4)}" y="${PAD.top + 12 + 14 * i}" text-anchor="${right ? 'end' : 'start'}" fill="${m.color}" ${FONT}>${esc(`${m.label} ${fmt(m.value)} ${unit}`)}</text>`,
    );
  });
  return svg(parts, title);
}

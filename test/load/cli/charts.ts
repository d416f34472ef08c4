import { esc } from '../svg-charts';

/**
 * Inline SVG charts the load report needs beyond ../svg-charts.ts (bars and histograms): lines
 * over time and horizontal bars. No script and no external asset, so the report opens offline and
 * prints as it shows.
 */

/** One line of a {@link lineChart}; `null` values leave a gap. */
export interface LineSeries {
  name: string;
  color: string;
  values: (number | null)[];
}

const W = 720;
const H = 300;
const PAD = { left: 64, right: 20, top: 48, bottom: 44 };
const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

function niceStep(span: number): number {
  const raw = span / 5 || 1;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
}

function fmt(v: number): string {
  if (Number.isInteger(v) || Math.abs(v) >= 100) return v.toFixed(0);
  return Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function svg(parts: string[], label: string, height = H): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${esc(label)}">${parts.join('')}</svg>`;
}

/** Lines over `x` (seconds), y from 0, legend on top, a gridline per y tick. */
export function lineChart(chart: { title: string; x: number[]; series: LineSeries[]; unit: string }): string {
  const { title, x, series, unit } = chart;
  const values = series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const yStep = niceStep(Math.max(...values, 0) * 1.1);
  const yTop = Math.max(yStep, Math.ceil((Math.max(...values, 0) * 1.1) / yStep) * yStep);
  const xMax = Math.max(...x, 1);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const px = (v: number) => PAD.left + (v / xMax) * plotW;
  const py = (v: number) => PAD.top + plotH - (v / yTop) * plotH;
  const parts = [`<text x="${PAD.left}" y="20" font-weight="600" ${FONT}>${esc(title)}</text>`];
  for (let v = 0; v <= yTop + yStep / 2; v += yStep) {
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 6}" y="${py(v) + 4}" text-anchor="end" ${FONT}>${fmt(v)}</text>`,
    );
  }
  const xStep = niceStep(xMax);
  for (let v = 0; v <= xMax + xStep / 100; v += xStep) {
    parts.push(`<text x="${px(v)}" y="${H - PAD.bottom + 16}" text-anchor="middle" ${FONT}>${fmt(v)}</text>`);
  }
  parts.push(
    `<text x="${PAD.left + plotW / 2}" y="${H - 6}" text-anchor="middle" ${FONT}>seconds</text>`,
    `<text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle" ${FONT}>${esc(unit)}</text>`,
  );
  series.forEach((s, si) => {
    // One path per unbroken run of values; a single point is drawn as a dot.
    let d = '';
    let run = 0;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        run = 0;
        return;
      }
      d += `${run === 0 ? 'M' : 'L'}${px(x[i] ?? i).toFixed(1)} ${py(v).toFixed(1)} `;
      run++;
    });
    if (d) {
      parts.push(
        `<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" data-series="${esc(s.name)}"><title>${esc(s.name)}</title></path>`,
      );
      s.values.forEach((v, i) => {
        if (v !== null && Number.isFinite(v)) {
          parts.push(
            `<circle cx="${px(x[i] ?? i).toFixed(1)}" cy="${py(v).toFixed(1)}" r="2" fill="${s.color}"/>`,
          );
        }
      });
    }
    const lx = PAD.left + 120 * si;
    parts.push(
      `<rect x="${lx}" y="27" width="12" height="12" fill="${s.color}"/>`,
      `<text x="${lx + 16}" y="37" ${FONT}>${esc(s.name)}</text>`,
    );
  });
  return svg(parts, title);
}

/** Horizontal bars, one per label, the count printed at the end of each. */
export function horizontalBars(
  title: string,
  rows: { label: string; value: number }[],
  color: string,
): string {
  const rowH = 22;
  const labelW = 300;
  const height = PAD.top + rows.length * rowH + 16;
  const max = Math.max(...rows.map((r) => r.value), 1);
  const barMax = W - labelW - PAD.right - 60;
  const parts = [`<text x="8" y="20" font-weight="600" ${FONT}>${esc(title)}</text>`];
  rows.forEach((r, i) => {
    const y = PAD.top + i * rowH;
    const w = Math.max(2, (r.value / max) * barMax);
    const label = r.label.length > 48 ? `${r.label.slice(0, 47)}…` : r.label;
    parts.push(
      `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end" ${FONT}>${esc(label)}<title>${esc(r.label)}</title></text>`,
      `<rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 6}" fill="${color}"><title>${esc(`${r.label}: ${r.value}`)}</title></rect>`,
      `<text x="${labelW + w + 6}" y="${y + 14}" ${FONT}>${r.value}</text>`,
    );
  });
  return svg(parts, title, height);
}

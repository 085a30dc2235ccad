// The load-test report as one HTML file that opens offline (no script, no external file): the
// model of report.ts marked up. Every figure carries its id and raw value (data-value) so that a
// script, or a test, reads the numbers back. Charts are inline SVG for the lines only, stretched
// to the width of the page; the tick labels are HTML placed in percent, so that they keep their
// size at 1280 px and on a phone instead of shrinking with the drawing.
import type { Chart, Figure, ReportModel } from './report.js'

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

// the drawing's own coordinates: 0..1000 both ways, stretched by preserveAspectRatio="none"
const SIZE = 1000

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;margin:0 auto;padding:1.5rem;max-width:980px;color:#1b1f24}
h1{font-size:1.45rem;margin:0 0 .75rem}h2{font-size:1.1rem;margin:1.75rem 0 .5rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{font-weight:500;color:#57606a;width:38%}
td{font-variant-numeric:tabular-nums;overflow-wrap:anywhere}#run-date{white-space:nowrap}
.chart{margin:1.75rem 0}
figcaption{font-weight:600}.unit{font-weight:400;color:#57606a}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem 1.1rem;padding:0;margin:.3rem 0 .6rem;font-size:.85rem}
.legend svg{vertical-align:middle;margin-right:.4rem}
.plot{display:grid;grid-template-columns:4.6em 1fr;grid-template-rows:220px 1.7em;margin-right:1.6em;font-size:12px;color:#444;font-variant-numeric:tabular-nums}
.y-ticks,.x-ticks{position:relative}.x-ticks{grid-column:2}
.tick-y{position:absolute;right:.55em;transform:translateY(50%);white-space:nowrap}
.tick-x{position:absolute;top:.35em;transform:translateX(-50%);white-space:nowrap}
.plot svg{display:block;width:100%;height:100%;border-left:1px solid #8c959f;border-bottom:1px solid #8c959f;overflow:visible}
.x-unit{text-align:right;font-size:12px;color:#57606a;margin-right:1.6em}
@media (max-width:600px){body{padding:.8rem;font-size:14px}th{width:40%}.plot{grid-template-rows:170px 1.7em}}
`

const TIME_UNIT_NAMES = { s: 'seconds', min: 'minutes', h: 'hours' } as const

function row (f: Figure): string {
  const value = f.value === null ? '' : String(f.value)
  return `<tr><th scope="row">${esc(f.label)}</th><td><span id="${esc(f.id)}" data-value="${esc(value)}">${esc(f.text)}</span>${f.unit === undefined ? '' : ` ${esc(f.unit)}`}</td></tr>`
}

const table = (figures: Figure[]): string => `<table>${figures.map(row).join('')}</table>`

function chart (c: Chart): string {
  const xTop = c.x.ticks.at(-1)!.value
  const yTop = c.y.ticks.at(-1)!.value
  const px = (v: number, top: number): number => Math.round((v / top) * SIZE * 10) / 10
  const grid = c.y.ticks.slice(1).map((t) => `<line x1="0" x2="${SIZE}" y1="${SIZE - px(t.value, yTop)}" y2="${SIZE - px(t.value, yTop)}" vector-effect="non-scaling-stroke"/>`).join('') +
    c.x.ticks.slice(1).map((t) => `<line y1="0" y2="${SIZE}" x1="${px(t.value, xTop)}" x2="${px(t.value, xTop)}" vector-effect="non-scaling-stroke"/>`).join('')
  const dash = (dashed: boolean): string => dashed ? ' stroke-dasharray="7 4"' : ''
  const lines = c.lines.map((l) => `<polyline id="${esc(`${c.id}-${l.id}`)}" data-points="${l.points.length}"${l.points.length === 0 ? '' : ` data-max="${Math.max(...l.points.map((p) => p[1]))}"`}` +
    ` fill="none" stroke="${l.color}" stroke-width="2" stroke-linejoin="round" vector-effect="non-scaling-stroke"${dash(l.dashed)}` +
    ` points="${l.points.map(([t, v]) => `${px(t, xTop)},${SIZE - px(v, yTop)}`).join(' ')}"/>`).join('')
  const legend = c.lines.map((l) => `<li id="${esc(`legend-${c.id}-${l.id}`)}"><svg width="30" height="10" aria-hidden="true"><line x1="0" x2="30" y1="5" y2="5" stroke="${l.color}" stroke-width="2.5"${dash(l.dashed)}/></svg>${esc(l.name)}</li>`).join('')
  const yTicks = c.y.ticks.map((t) => `<span class="tick-y" data-value="${t.value}" style="bottom:${px(t.value, yTop) / 10}%">${esc(t.label)}</span>`).join('')
  const xTicks = c.x.ticks.map((t) => `<span class="tick-x" data-value="${t.value}" style="left:${px(t.value, xTop) / 10}%">${esc(t.label)}</span>`).join('')
  return `<figure class="chart" id="${esc(c.id)}"><figcaption>${esc(c.title)} <span class="unit">(${esc(c.unit)})</span></figcaption><ul class="legend">${legend}</ul>` +
    `<div class="plot"><div class="y-ticks">${yTicks}</div>` +
    `<svg viewBox="0 0 ${SIZE} ${SIZE}" preserveAspectRatio="none" role="img" aria-label="${esc(`${c.title}, ${c.unit}`)}">` +
    `<g stroke="#eaeef2" stroke-width="1">${grid}</g>${lines}</svg>` +
    `<div class="x-ticks">${xTicks}</div></div><div class="x-unit">time since the start (${TIME_UNIT_NAMES[c.x.unit]})</div></figure>`
}

export function renderHtml (m: ReportModel): string {
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(m.title)}</title><style>${STYLE}</style></head><body>` +
    `<h1>${esc(m.title)}</h1><h2>The run</h2>${table(m.header)}<h2>Results</h2>${table(m.figures)}` +
    `<h2>Over time</h2>${m.charts.map(chart).join('')}</body></html>\n`
}

// The load test's report as one HTML file that opens offline: the summary and charts of rate,
// latency and gateway memory over time, drawn as inline SVG (no script, no external file).
import type { LoadTestResult } from './run.js'

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

function chart (title: string, unit: string, lines: Array<{ name: string, color: string, points: Array<[number, number]> }>): string {
  const W = 720; const H = 220; const L = 60; const B = 30
  const xs = lines.flatMap((l) => l.points.map((p) => p[0]))
  const ys = lines.flatMap((l) => l.points.map((p) => p[1]))
  const xMax = Math.max(1, ...xs)
  const yMax = Math.max(1, ...ys) * 1.1
  const x = (v: number): number => L + (v / xMax) * (W - L - 10)
  const y = (v: number): number => H - B - (v / yMax) * (H - B - 10)
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => `<line x1="${L}" x2="${W - 10}" y1="${y(f * yMax)}" y2="${y(f * yMax)}" stroke="#ddd"/><text x="${L - 6}" y="${y(f * yMax) + 4}" text-anchor="end" font-size="11">${Math.round(f * yMax)}</text>`).join('')
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${x(f * xMax)}" y="${H - B + 14}" text-anchor="middle" font-size="11">${Math.round(f * xMax)}</text>`).join('')
  const paths = lines.map((l) => `<polyline fill="none" stroke="${l.color}" stroke-width="2" points="${l.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`).join('')
  const legend = lines.map((l, i) => `<text x="${L + 10 + i * 120}" y="14" font-size="12" fill="${l.color}">■ ${esc(l.name)}</text>`).join('')
  return `<h2>${esc(title)}</h2><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">` +
    `${grid}${xTicks}${paths}${legend}<text x="${W / 2}" y="${H - 2}" text-anchor="middle" font-size="11">seconds</text>` +
    `<text x="12" y="${H / 2}" font-size="11" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${esc(unit)}</text></svg>`
}

export function renderHtml (r: LoadTestResult & { baseline?: { rate: number, recoveryMs?: number | null }, ratio?: number }): string {
  const rows: Array<[string, string]> = [
    ['scenario', r.scenario], ['devices', String(r.devices)], ['duration', `${r.durationMs / 1000} s`], ['readings per message', String(r.batch)],
    ['generated', String(r.readings.generated)], ['acknowledged', String(r.readings.acknowledged)],
    ['landed', String(r.readings.landed ?? 'n/a')], ['deduplicated', String(r.readings.deduplicated ?? 'n/a')], ['rejected', String(r.readings.rejected ?? 'n/a')],
    ['lost (acknowledged, not landed)', String(r.readings.lost ?? 'n/a')], ['dropped by device buffers', String(r.readings.dropped)], ['failed (never acknowledged)', String(r.readings.failed)],
    ['rate (acknowledged readings/s)', String(r.rate)], ['latency p50 / p95 / p99 / max', `${r.latency_ms.p50} / ${r.latency_ms.p95} / ${r.latency_ms.p99} / ${r.latency_ms.max} ms`],
    ['how the percentiles were computed', `${r.latency_method.method}, ${r.latency_method.significantDigits} significant digits, ${r.latency_method.resolution} resolution: ${r.latency_method.description}`]
  ]
  if (r.gateway !== null) rows.push(['gateway peak memory', `${r.gateway.peakRssMb} MB`], ['gateway CPU', `${r.gateway.cpuSeconds} s`])
  if (r.knee !== undefined) rows.push(['ramp knee', `${r.knee.readingsPerSecond} readings/s at p99 ${r.knee.p99Ms} ms${r.knee.crossedAt === null ? ' (thresholds never crossed)' : `; crossed at ${r.knee.crossedAt} offered`}`])
  if (r.recoveryMs !== undefined) rows.push(['reconnect storm recovery', r.recoveryMs === null ? 'not recovered' : `${r.recoveryMs} ms`])
  if (r.soak !== undefined) rows.push(['soak memory', `${r.soak.rssStartMb} → ${r.soak.rssEndMb} MB (${r.soak.rssSlopeMbPerMin} MB/min); outbox depth max ${r.soak.outboxDepthMax}`])
  if (r.baseline !== undefined) {
    rows.push(['bare aedes rate', String(r.baseline.rate)], ['gateway / bare broker', String(r.ratio)])
    if (r.baseline.recoveryMs !== undefined) rows.push(['bare aedes storm recovery', r.baseline.recoveryMs === null ? 'not recovered' : `${r.baseline.recoveryMs} ms`])
  }
  const charts = [
    chart('Acknowledged readings per second', 'readings/s', [{ name: 'rate', color: '#1f77b4', points: r.series.map((s) => [s.t, s.rate]) }]),
    // a second without acknowledgements has no latency to draw
    chart('Acknowledgement latency', 'ms', [
      { name: 'p50', color: '#2ca02c', points: r.series.filter((s) => s.rate > 0).map((s) => [s.t, s.p50]) },
      { name: 'p99', color: '#d62728', points: r.series.filter((s) => s.rate > 0).map((s) => [s.t, s.p99]) }
    ])
  ]
  const mem = r.series.filter((s) => s.rssMb !== undefined)
  if (mem.length > 0) charts.push(chart('Gateway memory', 'MB', [{ name: 'resident', color: '#9467bd', points: mem.map((s) => [s.t, s.rssMb!]) }]))
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>stedi load test: ${esc(r.scenario)}</title>` +
    '<style>body{font-family:sans-serif;margin:2em;max-width:800px}table{border-collapse:collapse}td{border-bottom:1px solid #eee;padding:4px 12px}</style></head><body>' +
    `<h1>stedi load test: ${esc(r.scenario)}</h1><table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>` +
    `${charts.join('')}</body></html>\n`
}

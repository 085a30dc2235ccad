// The load-test report in a real browser: `stedi load-test --json --report` against a real gateway
// (and, with --baseline, a bare aedes broker), the report opened offline in Debian's chromium, and
// every number the page shows read back by its id and held to the run's JSON; the charts' ticks
// and legends checked as a reader would see them, at 1280 px and on a phone.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import type { Page } from 'puppeteer-core'
import type { LoadTestReport } from '../../simulator/load/report.js'
import { openBrowser, pageValues } from '../helpers/browser.js'
import { ROOT, cli, tempDir } from '../helpers/index.js'
import { SECRET, startGateway } from '../helpers/gateway.js'

// a figure shown with thousands separators: 12,345 or 1,234.5
const GROUPED = /^-?\d{1,3}(,\d{3})*(\.\d+)?$/
const isOneTwoFive = (step: number): boolean => {
  const mantissa = Number((step / 10 ** Math.floor(Math.log10(step))).toPrecision(6))
  return [1, 2, 5].includes(mantissa)
}

/** text and data-value of every figure, legend and tick on the page */
async function readPage (page: Page): Promise<{ texts: Record<string, string>, ticks: Record<string, { x: number[], y: number[] }>, legends: Record<string, string[]>, lines: Record<string, { points: number, max: number }> }> {
  return await page.evaluate(() => {
    const texts = Object.fromEntries([...document.querySelectorAll('[id][data-value]')].map((e) => [e.id, e.textContent ?? '']))
    const charts = [...document.querySelectorAll('figure.chart')]
    const ticks = Object.fromEntries(charts.map((c) => [c.id, {
      x: [...c.querySelectorAll('.tick-x')].map((e) => Number(e.getAttribute('data-value'))),
      y: [...c.querySelectorAll('.tick-y')].map((e) => Number(e.getAttribute('data-value')))
    }]))
    const legends = Object.fromEntries(charts.map((c) => [c.id, [...c.querySelectorAll('.legend li')].map((e) => (e.textContent ?? '').trim())]))
    const lines = Object.fromEntries([...document.querySelectorAll('polyline[id]')].map((e) => [e.id, { points: Number(e.getAttribute('data-points')), max: Number(e.getAttribute('data-max')) }]))
    return { texts, ticks, legends, lines }
  })
}

/** labels of one kind that overlap their neighbour (x: side by side, y: stacked), as the page lays them out */
async function overlaps (page: Page, selector: string): Promise<string[]> {
  return await page.evaluate((selector) => [...document.querySelectorAll('figure.chart')].flatMap((c) => {
    const boxes = [...c.querySelectorAll(selector)].map((e) => ({ text: e.textContent, r: e.getBoundingClientRect() }))
    return boxes.slice(1).flatMap((b, i) => {
      const a = boxes[i]
      const apart = selector === '.tick-x' ? a.r.right <= b.r.left : b.r.bottom <= a.r.top
      return apart ? [] : [`${c.id}: ${a.text} / ${b.text}`]
    })
  }), selector)
}

t.test('a ramp with --baseline: the page shows the run\'s JSON, charted with the baseline, readable at 1280 px and 390 px', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 100 } })
  const dir = await tempDir(t)
  const report = path.join(dir, 'report.html')
  const run = await cli(['load-test', '--mqtt', gw.mqttUrl, '--http', gw.httpUrl, '--scenario', 'ramp', '--devices', '6', '--duration', '3s', '--batch', '1', '--rate', '20',
    '--p99-ms', '60000', '--baseline', '--json', '--report', report], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(run.code, 0, run.stderr)
  const json = JSON.parse(run.stdout) as LoadTestReport
  const { version } = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.equal(json.version, version, 'the JSON names the version that ran')
  t.ok(json.readings.generated >= 1000, `enough readings for a thousands separator (${json.readings.generated})`)

  const html = await fs.readFile(report, 'utf8')
  t.notMatch(html, /<script|<link|<img|src=|href=|url\(/, 'no script, nothing fetched: it opens offline')
  const { page } = await openBrowser(t)
  const requests: string[] = []
  page.on('request', (r) => { requests.push(r.url()) })
  await page.goto(`file://${report}`)
  t.same(requests, [`file://${report}`], 'the page asked for nothing else')
  const shown = await pageValues(page)
  const { texts, ticks, legends, lines } = await readPage(page)

  // the header: when, what, against what, with which options
  t.equal(shown['run-date'], json.startedAt)
  t.ok(Math.abs(Date.parse(shown['run-date']) - Date.now()) < 120_000, 'the run\'s own date, in ISO 8601')
  t.equal(shown.version, version)
  t.equal(shown.scenario, 'ramp')
  t.equal(shown['target-mqtt'], gw.mqttUrl)
  t.equal(shown['target-http'], gw.httpUrl)
  t.equal(shown['opt-baseline'], 'yes')

  // every figure: the JSON's value behind it, shown with thousands separators
  const expected: Record<string, number | null | undefined> = {
    generated: json.readings.generated, acknowledged: json.readings.acknowledged, landed: json.readings.landed, deduplicated: json.readings.deduplicated,
    rejected: json.readings.rejected, lost: json.readings.lost, dropped: json.readings.dropped, failed: json.readings.failed,
    rate: json.rate, p50: json.latency_ms.p50, p95: json.latency_ms.p95, p99: json.latency_ms.p99, max: json.latency_ms.max,
    'gateway-peak-rss': json.gateway?.peakRssMb, 'gateway-cpu': json.gateway?.cpuSeconds,
    'baseline-rate': json.baseline?.rate, 'baseline-p99': json.baseline?.latency_ms.p99, ratio: json.ratio,
    'opt-devices': json.devices, 'opt-duration': json.durationMs / 1000, 'opt-batch': json.batch, 'opt-rate': json.ratePerDevice, 'opt-p99': json.knee?.thresholds.p99Ms
  }
  for (const [id, value] of Object.entries(expected)) {
    t.type(value, 'number', `${id} is in the JSON`)
    t.equal(Number(shown[id]), value, `${id}: the page's value is the JSON's`)
    t.match(texts[id], GROUPED, `${id} reads "${texts[id]}"`)
    t.ok(Math.abs(Number(texts[id].replaceAll(',', '')) - value!) <= 0.005, `${id}: "${texts[id]}" is ${value}`)
  }
  t.match(texts.generated, /,/, 'a figure over a thousand has its separator')

  // the ramp never reached a 60 s p99: no knee is claimed, the highest rate held is said
  t.equal(json.knee?.crossedAt, null)
  t.match(texts.knee, /^thresholds \(p99 60,000 ms, errors 1%\) never crossed; the highest rate held was [\d,]+ readings\/s/)
  t.notMatch(texts.knee, /knee/)
  t.ok(texts.knee.includes(`held was ${json.knee!.readingsPerSecond.toLocaleString('en-US')} readings/s of ${json.knee!.offered.toLocaleString('en-US')} offered`), 'the rates held and offered are the JSON\'s')

  // the charts: the gateway's rate, latency, CPU, memory and outbox depth; the baseline on the first two
  t.same(Object.keys(ticks), ['chart-rate', 'chart-latency', 'chart-cpu', 'chart-memory', 'chart-outbox'])
  t.same(legends['chart-rate'], ['gateway', 'bare aedes'])
  t.same(legends['chart-latency'], ['gateway p50', 'gateway p99', 'bare aedes p50', 'bare aedes p99'])
  t.equal(lines['chart-rate-rate'].points, json.series.length, 'every point of the gateway\'s series drawn')
  t.equal(lines['chart-rate-baseline-rate'].points, json.baseline!.series.length, 'and of the baseline\'s')
  t.equal(lines['chart-rate-rate'].max, Math.max(...json.series.map((s) => s.rate)))
  t.equal(lines['chart-rate-baseline-rate'].max, Math.max(...json.baseline!.series.map((s) => s.rate)))
  t.equal(lines['chart-memory-memory'].max, Math.max(...json.series.flatMap((s) => s.rssMb ?? [])))
  t.equal(lines['chart-cpu-cpu'].max, Math.max(...json.series.flatMap((s) => s.cpuPercent ?? [])))
  t.equal(lines['chart-outbox-outbox'].max, Math.max(...json.series.flatMap((s) => s.outboxDepth ?? [])))
  for (const [id, { x, y }] of Object.entries(ticks)) {
    for (const [axis, values] of [['x', x], ['y', y]] as const) {
      const step = values[1] - values[0]
      t.ok(values[0] === 0 && isOneTwoFive(step) && values.every((v, i) => Math.abs(v - i * step) < 1e-9), `${id} ${axis}: ${values.join(', ')}`)
    }
    const top = Math.max(...Object.entries(lines).filter(([k]) => k.startsWith(`${id}-`)).map(([, l]) => l.max))
    // (nothing above 0, an outbox never filled: the axis is 0 to 1)
    t.ok(y.at(-1)! >= top && (y.at(-2)! < top || (top <= 0 && y.length === 2)), `${id}: the top tick ${y.at(-1)} is the first past ${top}`)
  }
  t.ok(ticks['chart-rate'].x.at(-1)! >= Math.max(...json.series.map((s) => s.t), ...json.baseline!.series.map((s) => s.t)), 'the time axis covers both runs')

  const text = await page.evaluate(() => document.body.innerText)
  t.notMatch(text, /NaN|undefined|null|Infinity/, 'nothing unformatted')

  // readable: no tick label over another, nothing wider than the window, at 1280 px and 390 px
  // STEDI_SCREENSHOT_DIR keeps the screenshots and the report to look at (else they go with the test's folder)
  const shots = process.env.STEDI_SCREENSHOT_DIR ?? dir
  if (shots !== dir) await fs.copyFile(report, path.join(shots, 'load-report.html'))
  for (const width of [1280, 390]) {
    await page.setViewport({ width, height: 900 })
    t.same(await overlaps(page, '.tick-x'), [], `${width} px: the time ticks stand apart`)
    t.same(await overlaps(page, '.tick-y'), [], `${width} px: the value ticks stand apart`)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    t.ok(overflow <= 0, `${width} px: no horizontal scroll (${overflow})`)
    await page.screenshot({ path: path.join(shots, `load-report-${width}.png`), fullPage: true })
  }
})

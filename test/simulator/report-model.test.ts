// The load-test report's model (what the HTML shows, before any markup): the run's header, every
// figure with thousands separators beside its raw value, the knee sentence only for a ramp, and
// the charts, with the baseline's series on the same charts as the gateway's.
import t from 'tap'
import { findKnee } from '../../simulator/load/knee.js'
import { renderHtml } from '../../simulator/load/html.js'
import { buildReport } from '../../simulator/load/report.js'
import { loadResult as result, loadSeries as series, rampSteps } from '../helpers/load-result.js'

const figure = (r: ReturnType<typeof buildReport>, id: string): { text: string, value: unknown, unit?: string } | undefined =>
  [...r.header, ...r.figures].find((f) => f.id === id)

t.test('the header: the run\'s date, version, scenario, target and options', async (t) => {
  const r = buildReport(result())
  t.equal(r.title, 'stedi load test: steady, 1,000 devices')
  t.same(figure(r, 'run-date'), { id: 'run-date', label: 'run started', value: '2026-05-04T10:20:30.400Z', text: '2026-05-04T10:20:30.400Z' })
  t.equal(figure(r, 'version')?.text, '0.1.0')
  t.equal(figure(r, 'scenario')?.text, 'steady')
  t.equal(figure(r, 'target-mqtt')?.text, 'mqtt://127.0.0.1:1883')
  t.equal(figure(r, 'target-http')?.text, 'http://127.0.0.1:8080')
  t.equal(figure(r, 'target-metrics')?.text, 'http://127.0.0.1:8080')
  t.same([figure(r, 'opt-devices')?.text, figure(r, 'opt-duration')?.text, figure(r, 'opt-batch')?.text, figure(r, 'opt-rate')?.text, figure(r, 'opt-baseline')?.text],
    ['1,000', '20', '10', '40', 'no'])
  t.equal(figure(r, 'opt-duration')?.unit, 's')
  t.equal(figure(r, 'opt-p99'), undefined, 'the ramp threshold only for a ramp')
  t.equal(buildReport(result({ version: undefined })).header.find((f) => f.id === 'version'), undefined, 'no version, no line (a library caller)')
})

t.test('every figure: its raw value and its text with thousands separators', async (t) => {
  const r = buildReport(result())
  for (const [id, value, text] of [
    ['generated', 800_000, '800,000'], ['acknowledged', 799_990, '799,990'], ['landed', 799_990, '799,990'], ['lost', 0, '0'], ['failed', 10, '10'],
    ['rate', 39_690, '39,690'], ['p50', 12.35, '12.35'], ['p99', 1263.5, '1,263.5'], ['max', 2001, '2,001'],
    ['gateway-peak-rss', 1234, '1,234'], ['gateway-cpu', 30.5, '30.5']
  ] as const) {
    t.same([figure(r, id)?.value, figure(r, id)?.text], [value, text], id)
  }
  t.equal(figure(r, 'rate')?.unit, 'readings/s')
  t.equal(figure(r, 'p99')?.unit, 'ms')
  t.match(figure(r, 'latency-method')?.text, /HDR histogram .*3 significant digits/)
  const missing = buildReport(result({ readings: { ...result().readings, landed: null, lost: null } }))
  t.same([figure(missing, 'landed')?.text, figure(missing, 'landed')?.value], ['n/a', null], 'a bare broker lands nothing to count')
})

t.test('charts: rate, latency, then the gateway\'s CPU, memory and outbox depth, each with 1-2-5 ticks past its largest value', async (t) => {
  const r = buildReport(result())
  t.same(r.charts.map((c) => c.id), ['chart-rate', 'chart-latency', 'chart-cpu', 'chart-memory', 'chart-outbox'])
  const rate = r.charts[0]
  t.same(rate.lines.map((l) => [l.id, l.name]), [['rate', 'gateway']])
  t.equal(rate.lines[0].points.length, 21)
  t.same(rate.lines[0].points[20], [20, 40_000])
  t.same(rate.y.ticks.map((x) => x.label), ['0', '10,000', '20,000', '30,000', '40,000'])
  t.same(rate.x.ticks.map((x) => x.label), ['0', '5', '10', '15', '20'])
  t.equal(rate.x.unit, 's')
  t.equal(rate.unit, 'readings/s')
  const latency = r.charts[1]
  t.same(latency.lines.map((l) => l.name), ['gateway p50', 'gateway p99'])
  t.ok(latency.y.ticks.at(-1)!.value >= 28, 'the highest p99 under the top tick')
  const cpu = r.charts[2]
  t.equal(cpu.unit, '% of one core')
  t.equal(cpu.lines[0].points.length, 20, 'only the points with a sample')
  t.same(r.charts[3].lines[0].points[0], [1, 141])
  t.same(r.charts[4].y.ticks.map((x) => x.value), [0, 2000, 4000, 6000])
})

t.test('a second without acknowledgements has no latency to draw (not a latency of 0)', async (t) => {
  const r = buildReport(result({ series: series(5, (i) => i === 2 ? 0 : 100) }))
  t.same(r.charts[1].lines[0].points.map((p) => p[0]), [0, 1, 3, 4])
  t.same(r.charts[0].lines[0].points.map((p) => p[0]), [0, 1, 2, 3, 4], 'its rate of 0 is drawn')
})

t.test('a bare broker (no /metrics): no gateway charts', async (t) => {
  const r = buildReport(result({ series: series(5, () => 100, false), gateway: null }))
  t.same(r.charts.map((c) => c.id), ['chart-rate', 'chart-latency'])
  t.equal(figure(r, 'gateway-peak-rss'), undefined)
})

t.test('--baseline: the bare broker\'s series on the rate and latency charts, dashed, named in the legend', async (t) => {
  const baseline = { scenario: 'steady' as const, rate: 41_000, latency_ms: { p50: 3, p95: 9, p99: 20, max: 40 }, series: series(23, () => 45_000, false) }
  const r = buildReport(result({ baseline, ratio: 0.97 }))
  const [rate, latency] = r.charts
  t.same(rate.lines.map((l) => [l.id, l.name, l.dashed]), [['rate', 'gateway', false], ['baseline-rate', 'bare aedes', true]])
  t.same(latency.lines.map((l) => l.name), ['gateway p50', 'gateway p99', 'bare aedes p50', 'bare aedes p99'])
  t.equal(new Set(latency.lines.map((l) => l.color)).size, 4, 'four colours')
  t.same(rate.y.ticks.at(-1)?.value, 50_000, 'the axis holds the baseline too')
  t.same(rate.x.ticks.at(-1)?.value, 25, 'and its longer series')
  t.same([figure(r, 'baseline-rate')?.text, figure(r, 'ratio')?.text, figure(r, 'opt-baseline')?.text], ['41,000', '0.97', 'yes'])
  t.same(r.charts.slice(2).map((c) => c.lines.length), [1, 1, 1], 'a bare broker has no /metrics: the gateway charts stay the gateway\'s')
  const mixed = buildReport(result({ scenario: 'mixed', baseline, ratio: 1 }))
  t.equal(mixed.charts[0].lines[1].name, 'bare aedes (steady: it has no HTTP API)', 'the legend says what the baseline ran')
})

t.test('the knee: a sentence for a ramp, a knee only when a threshold was crossed', async (t) => {
  const windows = rampSteps([10, 20, 40])
  const held = buildReport(result({ scenario: 'ramp', knee: findKnee(windows, { p99Ms: 1000, errorRate: 0.01 }) }))
  t.match(figure(held, 'knee')?.text, /^thresholds \(p99 1,000 ms, errors 1%\) never crossed; the highest rate held was 4,000 readings\/s/)
  t.equal(figure(held, 'opt-p99')?.text, '1,000')
  const crossed = buildReport(result({ scenario: 'ramp', knee: findKnee(windows, { p99Ms: 15, errorRate: 0.01 }) }))
  t.match(figure(crossed, 'knee')?.text, /^knee at 1,000 readings\/s of 1,000 offered .* 2,000 readings\/s offered, passed p99 15 ms \(p99 20 ms\)$/)
  t.equal(figure(buildReport(result()), 'knee'), undefined, 'no knee line for a steady run')
})

t.test('the HTML escapes what the command line gave it', async (t) => {
  const html = renderHtml(buildReport(result({ target: { mqtt: 'mqtt://127.0.0.1:1883/"><script>alert(1)</script>', http: null, metrics: [] } })))
  t.notMatch(html, /<script/)
  t.match(html, /data-value="mqtt:\/\/127\.0\.0\.1:1883\/&quot;&gt;&lt;script&gt;/)
})

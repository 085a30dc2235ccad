// stedi load-test: a short run of every scenario reconciles exactly (0 lost), and the JSON and the
// HTML report are produced and well-formed.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { issueCredential } from '../../gateway/credentials.js'
import { renderHtml } from '../../simulator/load/html.js'
import { buildReport } from '../../simulator/load/report.js'
import { SCENARIOS, checkTarget, runLoadTest, withoutCredentials } from '../../simulator/load/run.js'
import { cli, tempDir } from '../helpers/index.js'
import { SECRET, startGateway } from '../helpers/gateway.js'

const credential = (kind: 'step-trainer' | 'accelerometer', identity: string): string => issueCredential(SECRET, kind, identity)

for (const scenario of SCENARIOS) {
  t.test(`${scenario}: every acknowledged reading is accounted for`, async (t) => {
    const gw = await startGateway(t, { batch: { maxAgeMs: 100 } })
    const r = await runLoadTest({ mqttUrl: gw.mqttUrl, httpUrl: gw.httpUrl, scenario, devices: 8, durationMs: 2400, batch: 5, ratePerDevice: 10, credential })
    t.equal(r.readings.lost, 0, 'lost')
    t.equal(r.readings.generated, r.readings.acknowledged + r.readings.dropped + r.readings.failed)
    t.equal(r.readings.failed, 0)
    t.equal(r.readings.landed, r.readings.acknowledged, 'landed = acknowledged (no faults here)')
    t.ok(r.rate > 0 && r.latency_ms.p99 >= r.latency_ms.p50 && r.series.length >= 2)
    if (scenario === 'ramp') t.ok(r.knee !== undefined && r.knee.readingsPerSecond > 0, JSON.stringify(r.knee))
    if (scenario === 'storm') t.ok(typeof r.recoveryMs === 'number', `recovered in ${r.recoveryMs} ms`)
    if (scenario === 'soak') t.ok(r.soak !== undefined && r.soak.rssStartMb > 0)
    if (scenario === 'spike') t.ok(r.readings.generated > 8 * 10 * 2.4, 'the spike offered more than the base rate')
    const html = renderHtml(buildReport(r))
    t.match(html, /^<!doctype html><html lang="en">/)
    t.equal((html.match(/<svg /g) ?? []).length, (html.match(/<\/svg>/g) ?? []).length)
    t.notMatch(html, /<script|<link|<img|src=|href=/, 'no script, nothing fetched: it opens offline')
  })
}

t.test('stedi load-test --json --baseline --report: one result object, a ratio, a report file', async (t) => {
  const gw = await startGateway(t)
  const report = path.join(await tempDir(t), 'report.html')
  const r = await cli(['load-test', '--mqtt', gw.mqttUrl, '--http', gw.httpUrl, '--scenario', 'steady', '--devices', '6', '--duration', '2s', '--baseline', '--json', '--report', report],
    { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(r.code, 0, r.stderr)
  const result = JSON.parse(r.stdout) as Record<string, any>
  for (const key of ['generated', 'acknowledged', 'landed', 'lost']) t.type(result.readings[key], 'number', `readings.${key}`)
  t.equal(result.readings.lost, 0)
  t.type(result.rate, 'number')
  for (const p of ['p50', 'p95', 'p99']) t.type(result.latency_ms[p], 'number')
  t.type(result.baseline.rate, 'number')
  t.type(result.ratio, 'number')
  t.match(await fs.readFile(report, 'utf8'), /gateway \/ bare broker/)
})

t.test('the result (and the report shared from it) names its targets without their credentials', async (t) => {
  t.equal(withoutCredentials('mqtts://fleet:s3cret@127.0.0.1:8883'), 'mqtts://127.0.0.1:8883')
  t.equal(withoutCredentials('https://ops:pw@[::1]:8443/base'), 'https://[::1]:8443/base')
  t.equal(withoutCredentials('mqtt://127.0.0.1:1883'), 'mqtt://127.0.0.1:1883', 'a URL without any is left as given')
})

t.test('only loopback targets unless --allow-remote', async (t) => {
  t.throws(() => checkTarget('mqtt://10.1.2.3:1883', false), { code: 'SIM_ERR_REMOTE_TARGET', message: /not a loopback address/ })
  t.doesNotThrow(() => checkTarget('mqtt://127.0.0.1:1883', false))
  t.doesNotThrow(() => checkTarget('http://localhost:8080', false))
  const r = await cli(['load-test', '--mqtt', 'mqtt://10.1.2.3:1883', '--http', 'http://10.1.2.3:8080', '--scenario', 'steady', '--duration', '1s'], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(r.code, 2, 'a usage error')
  t.match(r.stderr, /not a loopback address/)
  t.equal(r.stderr.trim().split('\n').length, 1, 'in one line')
})

t.test('stedi load-test --scenario ramp: the terminal says "knee" only when a threshold was crossed', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 100 } })
  const ramp = async (p99Ms: string): Promise<string> => {
    const r = await cli(['load-test', '--mqtt', gw.mqttUrl, '--http', gw.httpUrl, '--scenario', 'ramp', '--devices', '4', '--duration', '3s', '--batch', '1', '--p99-ms', p99Ms],
      { env: { STEDI_GATEWAY_SECRET: SECRET } })
    t.equal(r.code, 0, r.stderr)
    return r.stdout
  }
  // every acknowledgement takes more than 0 ms: the first step crosses
  const crossed = await ramp('0')
  t.match(crossed, /^ramp {8}knee (below the first step: [\d,]+ readings\/s offered already|at [\d,]+ readings\/s of [\d,]+ offered \(p99 [\d,.]+ ms\): the next step, [\d,]+ readings\/s offered,) passed p99 0 ms \(p99 [\d,.]+ ms\)$/m)
  // no loopback acknowledgement takes a minute: no knee to claim
  const held = await ramp('60000')
  t.match(held, /^ramp {8}thresholds \(p99 60,000 ms, errors 1%\) never crossed; the highest rate held was [\d,]+ readings\/s of [\d,]+ offered \(p99 [\d,.]+ ms\)$/m)
  t.notMatch(held, /knee/)
})

// The console in a real browser: devices publish over MQTT to a real gateway, chromium opens the
// page, and the numbers it shows are the JSON endpoint's and /metrics'.
import path from 'node:path'
import t from 'tap'
import { connectDevice, startGateway } from '../helpers/gateway.js'
import { openBrowser, pageValues } from '../helpers/browser.js'

/** a sample's value in the Prometheus text (summed over the label sets that match) */
function metric (text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !/[{ ]/.test(line[name.length])) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

t.test('the page shows the devices connected and the readings accepted, equal to /v1/console and /metrics', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 200 } })
  const phones = await Promise.all(['a@test.com', 'b@test.com'].map(async (id) => await connectDevice(t, gw.mqttUrl, 'accelerometer', id)))
  const trainer = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  let ts = 1655564444000
  for (let round = 0; round < 5; round++) {
    for (const [i, phone] of phones.entries()) {
      await phone.publishAsync(`stedi/v1/accelerometer/${['a@test.com', 'b@test.com'][i]}/readings`,
        JSON.stringify({ seq: round * 10 + i, readings: [{ timestamp: ts++, x: 1, y: 0, z: 0 }, { timestamp: ts++, x: 0, y: 1, z: 0 }] }), { qos: 1 })
    }
    await trainer.publishAsync('stedi/v1/step-trainer/sn-1/readings', JSON.stringify({ sensorReadingTime: ts++, distanceFromObject: 200 + round }), { qos: 1 })
  }
  // one invalid reading, refused as such
  await trainer.publishAsync('stedi/v1/step-trainer/sn-1/readings', '{"sensorReadingTime": "soon"}', { qos: 1 })

  const json = async (): Promise<Record<string, any>> => await (await fetch(`${gw.httpUrl}/v1/console`)).json() as Record<string, any>
  // every reading is accepted and landed before the numbers are compared: nothing moves after
  for (let i = 0; i < 100; i++) {
    const v = await json()
    if (v.readings.accepted.accelerometer === 20 && v.readings.accepted.step_trainer === 5 && v.outbox.depth.accelerometer === 0 && v.outbox.depth.step_trainer === 0) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const { page } = await openBrowser(t)
  await page.goto(`${gw.httpUrl}/`)
  await page.waitForFunction(() => document.getElementById('accepted-step_trainer')?.getAttribute('data-value') === '5', { timeout: 15_000 })
  const shown = await pageValues(page)
  const view = await json()
  const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text()

  t.equal(Number(shown['devices-total']), view.devices.total)
  t.equal(Number(shown['devices-total']), metric(metrics, 'stedi_connected_devices'))
  t.equal(Number(shown['devices-total']), 3)
  t.equal(Number(shown['devices-accelerometer']), 2)
  t.equal(Number(shown['devices-step-trainer']), 1)
  for (const d of ['customer', 'accelerometer', 'step_trainer']) {
    t.equal(Number(shown[`accepted-${d}`]), view.readings.accepted[d], `${d}: the page is the endpoint`)
    t.equal(Number(shown[`accepted-${d}`]), metric(metrics, 'stedi_readings_accepted_total', { dataset: d }), `${d}: the page is /metrics`)
    t.equal(Number(shown[`outbox-${d}`]), view.outbox.depth[d])
    t.equal(Number(shown[`flushes-${d}`]), metric(metrics, 'stedi_batches_flushed_total', { dataset: d }))
    t.equal(Number(shown[`landed-${d}`]), metric(metrics, 'stedi_records_flushed_total', { dataset: d }))
  }
  t.equal(Number(shown['accepted-accelerometer']), 20)
  t.equal(Number(shown['rejected-total']), metric(metrics, 'stedi_readings_rejected_total'))
  t.equal(Number(shown['rejected-total']), 1)
  t.equal(Number(shown['ack-count']), metric(metrics, 'stedi_ack_latency_seconds_count'))
  t.equal(shown['ack-p50'], String(view.ackLatencyMs.p50))
  t.ok(Number(shown['ack-p99']) >= Number(shown['ack-p50']))
  // the sparkline drew the readings of the last seconds
  const drawn = await page.$eval('#spark-accelerometer', (e) => Number(e.getAttribute('data-max')))
  t.ok(drawn >= 1, 'the accelerometer sparkline has a peak')
  const text = await page.evaluate(() => document.body.innerText)
  t.notMatch(text, /@/, 'no identity (email) on the page')
  t.match(await page.$eval('#fresh-promoted', (e) => e.textContent), /no lakehouse/)

  const dir = t.testdir({})
  await page.screenshot({ path: path.join(dir, 'console-1280.png'), fullPage: true })
  await page.setViewport({ width: 390, height: 844 })
  // on a phone nothing is wider than the screen
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  t.ok(overflow <= 0, `no horizontal scroll at 390 px (${overflow})`)
  await page.screenshot({ path: path.join(dir, 'console-390.png'), fullPage: true })
})

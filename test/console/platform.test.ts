// The console under `stedi start`: the lakehouse's funnel on the page is `stedi counts --json`.
import path from 'node:path'
import t from 'tap'
import { startPlatformProcess } from '../helpers/gateway-process.js'
import { cli, tempDir } from '../helpers/index.js'
import { openBrowser, pageValues } from '../helpers/browser.js'
import { issueCredential } from '../../gateway/credentials.js'

t.test('stedi start: the page shows the runs and the zone funnel, equal to stedi counts --json', async (t) => {
  const varDir = await tempDir(t)
  const secret = 'console-test-secret-0123456789'
  const { http, post, stop } = await startPlatformProcess(t, varDir, secret)
  const service = issueCredential(secret, 'service', 'test')
  // a consenting customer, one who did not consent, and one that is not a customer record
  t.equal(await post('/v1/customers', [
    { email: 'a@test.com', serialNumber: 'sn-a', lastUpdateDate: 1655564376361, shareWithResearchAsOfDate: 1655564376361 },
    { email: 'b@test.com', serialNumber: 'sn-b', lastUpdateDate: 1655564376361 }
  ], service), 202)
  for (const [who, sn] of [['a@test.com', 'sn-a'], ['b@test.com', 'sn-b']]) {
    t.equal(await post('/v1/readings/accelerometer', { seq: 1, readings: [{ timestamp: 1655564444103, x: 1, y: 0, z: 0 }, { timestamp: 1655564444203, x: 1, y: 0, z: 0 }] },
      issueCredential(secret, 'accelerometer', who)), 202)
    t.equal(await post('/v1/readings/step-trainer', { sensorReadingTime: 1655564444103, distanceFromObject: 250 },
      issueCredential(secret, 'step-trainer', sn)), 202)
  }
  const lakehouse = path.join(varDir, 'lakehouse')
  const view = async (): Promise<Record<string, any>> => await (await fetch(`${http}/v1/console`)).json() as Record<string, any>
  // wait for a run that promoted every reading
  for (let i = 0; i < 300; i++) {
    const v = await view()
    if (v.pipeline?.funnel?.landing.accelerometer === 4 && v.pipeline.funnel.landing.step_trainer === 2) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const counts = JSON.parse((await cli(['counts', '--json', '--lakehouse', lakehouse])).stdout) as Record<string, Record<string, number>>
  t.equal(counts.landing.accelerometer, 4)

  const { page } = await openBrowser(t)
  await page.goto(`${http}/`)
  await page.waitForFunction((n) => document.getElementById('funnel-landing-accelerometer')?.getAttribute('data-value') === n, { timeout: 15_000 }, String(counts.landing.accelerometer))
  const shown = await pageValues(page)
  for (const zone of ['landing', 'trusted', 'quarantined'] as const) {
    for (const d of ['customer', 'accelerometer', 'step_trainer']) t.equal(Number(shown[`funnel-${zone}-${d}`]), counts[zone][d], `${zone} ${d}`)
  }
  t.equal(Number(shown['funnel-curated-customer']), counts.curated.customer)
  t.equal(Number(shown['funnel-curated-machine_learning']), counts.curated.machine_learning)
  // every landing record is trusted or filtered out for a reason shown
  const v = await view()
  for (const d of ['customer', 'accelerometer', 'step_trainer']) {
    const filtered = Object.entries(v.pipeline.funnel.filtered[d] as Record<string, number>).filter(([, n]) => n > 0)
    for (const [reason, n] of filtered) t.equal(Number(shown[`funnel-filtered-${d}-${reason}`]), n, `${d} filtered out: ${reason}`)
    t.equal(counts.trusted[d] + filtered.reduce((a, [, n]) => a + n, 0), counts.landing[d], `${d}: landing = trusted + filtered out`)
  }
  t.ok(counts.trusted.customer < counts.landing.customer, 'the customer without consent is filtered out')
  const runs = v.pipeline.runs as Array<{ id: number, status: string }>
  t.ok(runs.length > 0)
  t.equal(shown[`run-${runs[0].id}-status`], runs[0].status)
  t.ok(Number(shown['fresh-promoted']) >= 0, 'the time since the last promotion is shown')
  t.ok(Number(shown['fresh-landed']) >= 0, 'the time since the last landed batch is shown')
  t.notMatch(await page.evaluate(() => document.body.innerText), /@/, 'no email on the page')
  await page.screenshot({ path: path.join(t.testdir({}), 'console-start.png'), fullPage: true })
  t.equal(await stop(), 0)
})

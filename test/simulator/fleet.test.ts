// A simulated fleet against the gateway, then the pipeline: the zone counts are the ones the
// fleet's seed predicts, with faults too; and every generated reading is accounted for.
import t from 'tap'
import { issueCredential } from '../../gateway/credentials.js'
import { fleetCustomers, runFleet } from '../../simulator/fleet.js'
import { ROOT, run, spawnCollect, tempDir } from '../helpers/index.js'
import { SECRET, startGateway } from '../helpers/gateway.js'

t.test('the same seed gives the same customers', async (t) => {
  t.same(fleetCustomers(5, 7, 0.5).map((c) => c.record), fleetCustomers(5, 7, 0.5).map((c) => c.record))
  t.notSame(fleetCustomers(5, 7, 0.5).map((c) => c.email), fleetCustomers(5, 8, 0.5).map((c) => c.email))
})

for (const faults of [undefined, { dropConnection: 0.05, duplicatePublish: 0.1, corruptPayload: 0.05 }]) {
  t.test(`a fleet of 40 customers${faults === undefined ? '' : ' with faults'} gives the predicted zone counts`, async (t) => {
    const gw = await startGateway(t, { batch: { maxAgeMs: 100 } })
    const summary = await runFleet({
      customers: 40, durationMs: 1500, ratePerSecond: 10, consentRatio: 0.5, seed: 42,
      mqttUrl: gw.mqttUrl, httpUrl: gw.httpUrl, batchSize: 5, faults,
      credential: (kind, identity) => issueCredential(SECRET, kind, identity)
    })
    t.equal(summary.generated, summary.acknowledged + summary.dropped + summary.failed, 'generated = acknowledged + dropped + failed')
    t.equal(summary.acknowledged, summary.generated, 'nothing dropped or failed')
    t.equal(summary.devices, 80)
    await gw.gateway.batcher.drain()
    const report = await run({ landingDir: gw.landing, lakehouseDir: await tempDir(t) })
    t.same(report.counts.landing, summary.expected.landing)
    t.same(report.counts.trusted, summary.expected.trusted)
    t.same(report.counts.curated, summary.expected.curated)
    t.equal(report.warnings.crossCustomerPairs, 0, 'no two customers share an instant')
    if (faults !== undefined) t.ok(gw.gateway.metrics.deduplicated.sum() > 0 && gw.gateway.metrics.rejected.sum() > 0, 'the faults reached the gateway')
  })
}

for (const seqPersistence of ['flash', 'ram'] as const) {
  t.test(`a fleet whose devices restart (seq in ${seqPersistence}) counts what they lost in RAM and still predicts the zone counts`,
    async (t) => {
      const gw = await startGateway(t, { batch: { maxAgeMs: 100 } })
      const summary = await runFleet({
        customers: 20, durationMs: 1500, ratePerSecond: 10, consentRatio: 0.5, seed: 9,
        mqttUrl: gw.mqttUrl, httpUrl: gw.httpUrl, batchSize: 5, faults: { restart: 0.03 }, seqPersistence,
        credential: (kind, identity) => issueCredential(SECRET, kind, identity)
      })
      t.equal(summary.generated, summary.acknowledged + summary.dropped + summary.lost + summary.failed, 'generated = acknowledged + dropped + lost + failed')
      t.equal(summary.failed, 0)
      t.ok(summary.restarts > 0 && summary.lost > 0, `${summary.restarts} restarts lost ${summary.lost} readings`)
      await gw.gateway.batcher.drain()
      const report = await run({ landingDir: gw.landing, lakehouseDir: await tempDir(t) })
      t.same(report.counts.landing, summary.expected.landing, 'landing: the acknowledged readings, no more, no less')
      t.same(report.counts.trusted, summary.expected.trusted)
      t.same(report.counts.curated, summary.expected.curated)
    })
}

t.test('stedi simulate fleet --restart-every N --seq-persistence flash: the summary counts the restarts and what they lost', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 100 } })
  // the source, through tsx, so that the test does not depend on a build
  const r = await spawnCollect(process.execPath, ['--import', 'tsx', `${ROOT}/cli/stedi.ts`, 'simulate', 'fleet', '--mqtt', gw.mqttUrl, '--http', gw.httpUrl,
    '--customers', '5', '--duration', '1s', '--rate', '20', '--batch', '5', '--restart-every', '8', '--seq-persistence', 'flash'], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(r.code, 0, r.stderr)
  const m = /generated (\d+) = acknowledged (\d+) \+ dropped by a full buffer (\d+) \+ lost in restarts (\d+) \+ failed 0; \d+ reconnects, (\d+) restarts/.exec(r.stdout)
  t.ok(m !== null, r.stdout)
  const [generated, acknowledged, dropped, lost, restarts] = m!.slice(1).map(Number)
  t.equal(generated, acknowledged + dropped + lost)
  t.ok(restarts > 0 && lost > 0, `${restarts} restarts lost ${lost} readings`)
  t.equal((await spawnCollect(process.execPath, ['--import', 'tsx', `${ROOT}/cli/stedi.ts`, 'simulate', 'fleet', '--mqtt', gw.mqttUrl, '--http', gw.httpUrl, '--seq-persistence', 'eeprom'],
    { env: { STEDI_GATEWAY_SECRET: SECRET } })).code, 2, 'an unknown persistence is a usage error')
})

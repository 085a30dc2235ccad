// A simulated fleet against the gateway, then the pipeline: the zone counts are the ones the
// fleet's seed predicts, with faults too; and every generated reading is accounted for.
import t from 'tap'
import { issueCredential } from '../../gateway/credentials.js'
import { fleetCustomers, runFleet } from '../../simulator/fleet.js'
import { run, tempDir } from '../helpers/index.js'
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

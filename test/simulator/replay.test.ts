// The end-to-end acceptance test: the published data replayed through the gateway by its devices
// and the website, then the pipeline on the gateway's landing folder, gives the seed's table
// exactly; so does a replay with redelivered batches and dropped connections.
import t from 'tap'
import { issueCredential } from '../../gateway/credentials.js'
import { replay } from '../../simulator/replay.js'
import { PUBLISHED, cli, run, tempDir } from '../helpers/index.js'
import { SECRET, startGateway } from '../helpers/gateway.js'

const SEED = {
  landing: { customer: 956, accelerometer: 81273, step_trainer: 28680 },
  trusted: { customer: 482, accelerometer: 40981, step_trainer: 14460 },
  curated: { customer: 482, machine_learning: 43681 },
  quarantined: { customer: 0, accelerometer: 0, step_trainer: 0 }
}

for (const faults of [
  { name: 'clean', batchSize: 100, duplicateRatio: 0, disconnectEvery: 0 },
  { name: 'with redeliveries and disconnects', batchSize: 20, duplicateRatio: 0.25, disconnectEvery: 2 }
]) {
  t.test(`replay of the published data through the gateway (${faults.name}) gives the seed table`, async (t) => {
    const gw = await startGateway(t, { batch: { maxAgeMs: 200 }, rateLimit: { readingsPerSecond: 1e6, burst: 1e7 } })
    const summary = await replay({
      dataDir: PUBLISHED,
      mqttUrl: gw.mqttUrl,
      httpUrl: gw.httpUrl,
      credential: (kind, identity) => issueCredential(SECRET, kind, identity),
      batchSize: faults.batchSize,
      duplicateRatio: faults.duplicateRatio,
      disconnectEvery: faults.disconnectEvery
    })
    t.equal(summary.acknowledged, 956 + 81273 + 28680, 'every record acknowledged')
    if (faults.duplicateRatio > 0) t.ok(summary.redelivered > 100 && summary.disconnects > 100, `${summary.redelivered} redeliveries, ${summary.disconnects} disconnects`)
    await gw.gateway.batcher.drain()
    const lakehouse = await tempDir(t)
    const report = await run({ landingDir: gw.landing, lakehouseDir: lakehouse })
    t.same(report.counts, SEED)
    t.equal(report.warnings.crossCustomerPairs, 2700)
  })
}

t.test('stedi simulate replay exits 0 only when everything was acknowledged', async (t) => {
  const gw = await startGateway(t, { rateLimit: { readingsPerSecond: 1e6, burst: 1e7 } })
  const data = await tempDir(t)
  const gen = await cli(['simulate', 'generate', '--out', data, '--customers', '20'])
  t.equal(gen.code, 0, gen.stderr)
  const ok = await cli(['simulate', 'replay', '--data', data, '--mqtt', gw.mqttUrl, '--http', gw.httpUrl], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, /replayed .*: 20 customers and \d+ readings; acknowledged (\d+) of \1/)
  const wrong = await cli(['simulate', 'replay', '--data', data, '--mqtt', gw.mqttUrl, '--http', gw.httpUrl], { env: { STEDI_GATEWAY_SECRET: 'another-secret-0123456789' } })
  t.not(wrong.code, 0, 'credentials under another secret are refused')
})

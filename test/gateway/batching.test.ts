// When readings become landing files: at max records, at max bytes, or at max age; and a flush
// that failed after its claim is finished later under the same file name, never twice.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { createFileSink } from '../../gateway/ingest/sinks/file.js'
import type { Sink } from '../../gateway/ingest/sinks/sink.js'
import { connectDevice, startGateway } from '../helpers/gateway.js'
import { tempDir } from '../helpers/index.js'

const files = async (landing: string): Promise<string[][]> => {
  const dir = path.join(landing, 'step_trainer/landing')
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort()
  return await Promise.all(names.map(async (n) => (await fs.readFile(path.join(dir, n), 'utf8')).trim().split('\n')))
}
const until = async (cond: () => Promise<boolean>, ms = 5000): Promise<void> => {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
const readings = (n: number, from = 0): string => JSON.stringify({ readings: Array.from({ length: n }, (_, i) => ({ sensorReadingTime: 1655564444103 + from + i, distanceFromObject: 250 })) })

t.test('max records: files go as soon as they are full, none larger; fewer wait', async (t) => {
  const gw = await startGateway(t, { batch: { maxRecords: 10, maxAgeMs: 60_000 } })
  const trainer = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  await trainer.publishAsync('stedi/v1/step-trainer/sn-1/readings', readings(4), { qos: 1 })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(await files(gw.landing), [], 'below max records and max age: waiting')
  t.equal(gw.gateway.outbox.pendingStats('step_trainer').records, 4)
  await trainer.publishAsync('stedi/v1/step-trainer/sn-1/readings', readings(21, 100), { qos: 1 })
  await until(async () => (await files(gw.landing)).length === 3)
  t.same((await files(gw.landing)).map((f) => f.length), [10, 10, 5], 'split at max records')
  t.equal(gw.gateway.outbox.pendingStats('step_trainer').records, 0)
})

t.test('max bytes', async (t) => {
  const gw = await startGateway(t, { batch: { maxBytes: 300, maxAgeMs: 60_000 } })
  const trainer = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  await trainer.publishAsync('stedi/v1/step-trainer/sn-1/readings', readings(10), { qos: 1 })
  await until(async () => (await files(gw.landing)).length >= 2)
  await gw.gateway.batcher.drain()
  const all = await files(gw.landing)
  t.ok(all.every((f) => f.join('\n').length + 1 <= 300), 'no file above max bytes')
  t.equal(all.flat().length, 10)
})

t.test('max age: a quiet device\'s single reading lands within the age', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 200 } })
  const trainer = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  const sent = Date.now()
  await trainer.publishAsync('stedi/v1/step-trainer/sn-1/readings', readings(1), { qos: 1 })
  await until(async () => (await files(gw.landing)).length === 1, 3000)
  const waited = Date.now() - sent
  t.ok(waited >= 150, `not before its age (${waited} ms)`)
})

t.test('a flush that fails after its claim is finished later, under the same name, once', async (t) => {
  const landing = await tempDir(t)
  const real = await createFileSink(landing)
  const attempts: string[] = []
  const flaky: Sink = {
    ...real,
    publish: async (flush, parts) => {
      attempts.push(parts.map((p) => p.file).join(','))
      if (attempts.length === 1) throw new Error('disk full (simulated)')
      await real.publish(flush, parts)
    }
  }
  const gw = await startGateway(t, { landingDir: landing, batch: { maxAgeMs: 20 } }, flaky)
  const trainer = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  await trainer.publishAsync('stedi/v1/step-trainer/sn-1/readings', readings(3), { qos: 1 })
  await until(async () => attempts.length >= 2, 5000)
  await gw.gateway.batcher.drain()
  t.equal(attempts[0], attempts[1], 'the retry writes the name claimed the first time')
  t.same((await files(landing)).map((f) => f.length), [3])
  t.equal(gw.gateway.metrics.sinkErrors.sum(), 1)
})

// A Spark job on a lakehouse whose erasure was killed after its commit (landing files still to be
// rewritten) refuses, naming the command that finishes the erasure; after it, the jobs run.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { StateStore } from '../../pipeline/state.js'
import { T0, cli, customer, tempDir, writeLanding } from '../helpers/index.js'

t.setTimeout(600_000)

t.test('Spark waits for an interrupted erasure to be finished', async (t) => {
  const root = await tempDir(t)
  const landing = path.join(root, 'landing')
  const lakehouse = path.join(root, 'lake')
  const env = { STEDI_PRIVACY_KEY: 'pending-test-privacy-key-0123456789' }
  const consent = { shareWithResearchAsOfDate: T0 }
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('ann@x.com', 'sn-ann', consent), customer('bob@x.com', 'sn-bob', consent)])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [{ user: 'ann@x.com', timestamp: T0 + 1, x: 0, y: 0, z: 0 }])
  await writeLanding(landing, 'step_trainer', 'step_trainer-1.json', [{ sensorReadingTime: T0 + 1, serialNumber: 'sn-ann', distanceFromObject: 250 }])
  t.equal((await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse], { env })).code, 0)
  // what an erasure killed after its commit leaves: a pending rewrite of a landing file
  const state = await StateStore.open(lakehouse, { create: false })
  const runId = await state.beginRun({ erasure: 'test' }, 0)
  await state.commitRun(runId, { status: 'erasure', fullRefresh: false, files: [], versions: [], report: {}, pending: { set: [{ path: 'customer/landing/customer-1.json', identity: 'x' }] } })
  await state.close()

  const spark = async (): ReturnType<typeof cli> => await cli(['pipeline', 'run', '--engine', 'spark', '--spark-master', 'local[2]', '--landing', landing, '--lakehouse', lakehouse], { cwd: root, env })
  const refused = await spark()
  t.equal(refused.code, 1)
  t.match(refused.stderr, /interrupted erasure left 1 landing file.*stedi privacy erase.*\[PIPE_ERR_ERASURE_PENDING\]/)
  t.equal((await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse], { env })).code, 0, 'an embedded run finishes it')
  const state2 = await StateStore.open(lakehouse, { create: false })
  t.same(await state2.pendingRewrites(), [], 'nothing pending any more')
  await state2.close()
  const after = await spark()
  t.equal(after.code, 0, after.stderr.slice(-2000))
  t.ok((await fs.readdir(lakehouse)).length > 0)
})

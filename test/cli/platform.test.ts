// The platform as a user runs it: `stedi demo` end to end, and `stedi start` (gateway and scheduled
// promotion in one process) with a clean shutdown.
import t from 'tap'
import { startPlatformProcess } from '../helpers/gateway-process.js'
import { cli, rows, tempDir } from '../helpers/index.js'
import { issueCredential } from '../../gateway/credentials.js'

t.test('stedi demo: a fleet through the gateway, promoted; the table matches what the fleet predicts', async (t) => {
  const cwd = await tempDir(t)
  const result = await cli(['demo', '--duration', '2s', '--customers', '10', '--rate', '5'], { cwd })
  t.equal(result.code, 0, result.stderr)
  const predicted = /a pipeline run must give: landing (\d+) \/ (\d+) \/ (\d+); trusted (\d+) \/ (\d+) \/ (\d+); curated (\d+) customers, (\d+) machine-learning rows/.exec(result.stdout)
  t.ok(predicted !== null, result.stdout)
  const n = predicted!.slice(1).map(Number)
  t.match(result.stdout, new RegExp(`\\| landing \\|\\s+${n[0]} \\|\\s+${n[1]} \\|\\s+${n[2]} \\|`))
  t.match(result.stdout, new RegExp(`\\| trusted \\|\\s+${n[3]} \\|\\s+${n[4]} \\|\\s+${n[5]} \\|`))
  t.match(result.stdout, new RegExp(`\\| curated \\|\\s+${n[6]} \\|.*\\|\\s+${n[7]} \\|`))
  t.match(result.stdout, /machine-learning table: .*var\/demo\/lakehouse\/curated\/machine_learning_curated\/data\.parquet/)
})

t.test('stedi start: readings published while it runs are promoted, and SIGTERM exits 0 after a last promotion', async (t) => {
  const varDir = await tempDir(t)
  const secret = 'platform-test-secret-0123456789'
  const { http, post, stop } = await startPlatformProcess(t, varDir, secret)
  t.equal(await post('/v1/customers', { email: 'a@test.com', serialNumber: 'sn-a', lastUpdateDate: 1655564376361, shareWithResearchAsOfDate: 1655564376361 },
    issueCredential(secret, 'service', 'test')), 202)
  t.equal(await post('/v1/readings/accelerometer', { seq: 1, readings: [{ timestamp: 1655564444103, x: 1, y: 0, z: 0 }] },
    issueCredential(secret, 'accelerometer', 'a@test.com')), 202)
  t.equal(await post('/v1/readings/step-trainer', { sensorReadingTime: 1655564444103, distanceFromObject: 250 },
    issueCredential(secret, 'step-trainer', 'sn-a')), 202)
  t.equal(await stop(), 0)
  t.same(await rows(`${varDir}/lakehouse`, 'SELECT user, distanceFromObject FROM machine_learning_curated'), [{ user: 'a@test.com', distanceFromObject: 250 }])
})

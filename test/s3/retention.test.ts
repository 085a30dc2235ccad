// Retention with landing in a bucket, on a real S3 server (versitygw): objects already read go after
// the commit, objects that are not landing files stay, a redelivered object (same key, size and
// ETag) is not read again, a full refresh keeps the rows. LastModified cannot be set, so the period
// is 1 ms: every object present is old enough, and only "read or not" decides.
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import t from 'tap'
import { createPipelineConfig } from '../../pipeline/config.js'
import { runPipeline } from '../../pipeline/run.js'
import { T0, customer } from '../helpers/index.js'
import { type TestS3, putLanding, startS3 } from '../helpers/s3.js'

async function runS3 (s3: TestS3, extra: Record<string, unknown> = {}): Promise<Awaited<ReturnType<typeof runPipeline>>> {
  return await runPipeline(createPipelineConfig({ landingDir: s3.uri('in'), lakehouseDir: s3.uri('lake'), threads: 2, s3: s3.connection, ...extra }))
}

async function keys (s3: TestS3, prefix: string): Promise<string[]> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))
  return (listed.Contents ?? []).map((o) => o.Key!).sort()
}

const reading = (user: string, i: number): Record<string, unknown> => ({ user, timestamp: T0 + i * 1000, x: i, y: 0, z: 1 })

t.test('S3 landing: read objects are retired after the commit; redelivery is known; full refresh keeps the rows', async (t) => {
  const s3 = await startS3(t)
  await putLanding(s3, 'in', 'customer', 'c.json', [customer('a@test.com', 'sn-a', { shareWithResearchAsOfDate: T0 })])
  await putLanding(s3, 'in', 'accelerometer', 'a.json', [reading('a@test.com', 1), reading('a@test.com', 2)])
  await putLanding(s3, 'in', 'step_trainer', 's.json', [{ sensorReadingTime: T0 + 1000, serialNumber: 'sn-a', distanceFromObject: 1 }, '{broken'])
  await putLanding(s3, 'in', 'accelerometer', '.hidden.json', [reading('x@test.com', 9)])
  await putLanding(s3, 'in', 'accelerometer', 'notes.txt', ['not landing'])

  const first = await runS3(s3, { retainLandingMs: 1 })
  t.equal(first.status, 'ok')
  t.same(first.newFiles, { customer: 1, accelerometer: 1, step_trainer: 1 }, 'read first')
  t.equal(first.retention?.retired, 3, 'then retired')
  t.same(await keys(s3, 'in/'), ['in/accelerometer/landing/.hidden.json', 'in/accelerometer/landing/notes.txt'], 'what is not a landing file stays')

  // a landing with no landing objects left is nothing new for this lakehouse, not a wrong prefix
  const idle = await runS3(s3, { retainLandingMs: 1 })
  t.equal(idle.status, 'unchanged')
  t.same(idle.retention, { retired: 0, bytes: 0 })
  t.same(idle.counts, first.counts)

  // the same object again (same key, size, ETag): known, not read, retired again
  await putLanding(s3, 'in', 'accelerometer', 'a.json', [reading('a@test.com', 1), reading('a@test.com', 2)])
  const again = await runS3(s3, { retainLandingMs: 1 })
  t.equal(again.status, 'unchanged')
  t.same(again.counts, first.counts, 'no duplicate rows')
  t.equal(again.retention?.retired, 1)

  // without the option nothing is deleted; new content under a retired key is read
  await putLanding(s3, 'in', 'accelerometer', 'a.json', [reading('a@test.com', 3)])
  const changed = await runS3(s3)
  t.same(changed.newFiles, { customer: 0, accelerometer: 1, step_trainer: 0 })
  t.equal(changed.counts.landing.accelerometer, first.counts.landing.accelerometer + 1)
  t.equal(changed.retention, undefined)
  t.ok((await keys(s3, 'in/')).includes('in/accelerometer/landing/a.json'))

  const refresh = await runS3(s3, { fullRefresh: true })
  t.same(refresh.newFiles, { customer: 0, accelerometer: 1, step_trainer: 0 }, 'only the object present is read again')
  t.same(refresh.counts, changed.counts, 'the rows of retired objects are kept')
  const twice = await runS3(s3, { fullRefresh: true, retainLandingMs: 1 })
  t.same(twice.counts, changed.counts)
  t.equal(twice.retention?.retired, 1)
  t.same(await keys(s3, 'in/'), ['in/accelerometer/landing/.hidden.json', 'in/accelerometer/landing/notes.txt'])
})

// One run at a time on an S3 lakehouse, and a run killed at any point leaves the previous version
// readable: the lease (a conditional-write lock object with an expiry) refuses a second run at once
// (exit 3), a killed run's lease is taken over once it expires, and the commit is a conditional put
// of the state that fails for a run whose state moved under it.
import { spawn } from 'node:child_process'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { TABLE_NAMES } from '../../contracts/lakehouse.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { runPipeline } from '../../pipeline/run.js'
import { openS3Session } from '../../pipeline/s3/access.js'
import { beginS3Run, LEASE_KEY } from '../../pipeline/s3/lakehouse.js'
import { Lease, leaseTiming } from '../../pipeline/s3/lease.js'
import { STEDI_BIN, killChild } from '../helpers/index.js'
import { type TestS3, s3Fingerprint, s3Rows, startS3, uploadPublished } from '../helpers/s3.js'

// renewed every 2 s: a killed run's lease expires 4 to 6 s after the kill
const LEASE = '6s'

interface Child { child: ReturnType<typeof spawn>, stderr: () => string }

/** `stedi pipeline run ARGS` stopped by its pause hook after `point`, holding the lakehouse. */
async function pausedRun (s3: TestS3, args: string[], point: string): Promise<Child> {
  const child = spawn(process.execPath, [STEDI_BIN, 'pipeline', 'run', ...args, '--pause-after', point], { env: { ...process.env, ...s3.env } })
  let stderr = ''
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); if (stderr.includes(`paused after ${point}`)) resolve() })
    child.once('exit', (code) => reject(new Error(`exited ${String(code)} before pausing: ${stderr}`)))
  })
  return { child, stderr: () => stderr }
}

async function cliS3 (s3: TestS3, args: string[]): Promise<{ code: number | null, stdout: string, stderr: string, ms: number }> {
  const started = Date.now()
  const child = spawn(process.execPath, [STEDI_BIN, ...args], { env: { ...process.env, ...s3.env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  return { code, stdout, stderr, ms: Date.now() - started }
}

for (const point of ['ingest', 'jobs', 'commit']) {
  t.test(`SIGKILL after ${point}: readers keep a whole version; a second run exits 3 at once; after the lease expires the next run completes`, async (t) => {
    const s3 = await startS3(t)
    await uploadPublished(s3, 'landing', (rel) => rel.startsWith('customer') || rel.endsWith('1445.json') || rel.endsWith('2038.json'))
    const args = ['--landing', s3.uri('landing'), '--lakehouse', s3.uri('lake'), '--lease', LEASE]
    const first = await cliS3(s3, ['pipeline', 'run', ...args, '--json'])
    t.equal(first.code, 0, first.stderr)
    const before = (JSON.parse(first.stdout) as { counts: unknown }).counts
    await uploadPublished(s3, 'landing', (rel) => !rel.startsWith('customer'))

    const paused = await pausedRun(s3, args, point)
    t.teardown(async () => { await killChild(paused.child as never) })
    const busy = await cliS3(s3, ['pipeline', 'run', ...args])
    t.equal(busy.code, 3, 'a second run exits 3')
    t.match(busy.stderr, /another pipeline run holds s3:\/\/stedi-test\/lake: process \d+ on .*--wait/)
    t.ok(busy.ms < 5000, `at once (${busy.ms} ms), not after the lease`)
    const during = await cliS3(s3, ['counts', '--lakehouse', s3.uri('lake'), '--json'])
    t.equal(during.code, 0, during.stderr)
    const duringCounts = JSON.parse(during.stdout) as typeof before
    if (point === 'commit') {
      t.equal((duringCounts as { landing: { accelerometer: number } }).landing.accelerometer, 81273, 'committed before the kill: the new version is current')
    } else {
      t.same(duringCounts, before, 'not committed: the previous version is current')
    }
    await killChild(paused.child as never)
    const killedAt = Date.now()
    const [{ n }] = await s3Rows(s3, s3.uri('lake'), `SELECT count(*) AS n FROM read_parquet('${s3.uri('lake/trusted/accelerometer_trusted')}/*.parquet')`)
    // killed after the commit but before the visible copies: the prefix still shows the previous version, whole
    t.equal(n, (before as { trusted: { accelerometer: number } }).trusted.accelerometer, 'a reader of the table prefix sees one whole version')

    const earlyAfterMs = Date.now() - killedAt
    const early = await cliS3(s3, ['pipeline', 'run', ...args])
    if (earlyAfterMs < 3000) t.equal(early.code, 3, 'the dead run\'s lease still holds until it expires')
    const next = await cliS3(s3, ['pipeline', 'run', ...args, '--wait', '30s', '--json'])
    t.equal(next.code, 0, `taken over once the lease expired: ${next.stderr}`)
    t.ok(Date.now() - killedAt >= 4000, `not before the lease expired (${Date.now() - killedAt} ms after the kill)`)
    t.equal((JSON.parse(next.stdout) as { counts: { landing: { accelerometer: number } } }).counts.landing.accelerometer, 81273)

    await runPipeline(createPipelineConfig({ landingDir: s3.uri('landing'), lakehouseDir: s3.uri('clean'), threads: 2, s3: s3.connection }))
    for (const table of TABLE_NAMES) t.same(await s3Fingerprint(s3, s3.uri('lake'), table), await s3Fingerprint(s3, s3.uri('clean'), table), `${table}: as one uninterrupted run makes it`)
    const [{ ml }] = await s3Rows(s3, s3.uri('lake'), `SELECT count(*) AS ml FROM read_parquet('${s3.uri('lake/curated/machine_learning_curated')}/*.parquet')`)
    t.equal(ml, 43681, 'the visible machine-learning object is the new version')
  })
}

t.test('the commit is a conditional put: a run whose state moved under it commits nothing', async (t) => {
  const s3 = await startS3(t)
  await uploadPublished(s3, 'landing', (rel) => rel.startsWith('customer'))
  const config = createPipelineConfig({ landingDir: s3.uri('landing'), lakehouseDir: s3.uri('lake'), threads: 2, s3: s3.connection })
  const first = await runPipeline(config)
  const session = openS3Session(s3.connection)
  t.teardown(() => { session.close() })
  const location = { bucket: s3.bucket, prefix: 'lake', uri: s3.uri('lake') }
  const lakehouse = await beginS3Run(session.bucket(s3.bucket), location, { consentPolicy: 'seed', mlJoin: 'seed', fullRefresh: false }, 0, 60_000)
  // someone rewrites the state meanwhile (a run that ignored the lease, or a restore by hand)
  const state = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'lake/_state/pipeline.sqlite' }))
  // (SQLite ignores bytes past the pages its header counts: the same state under a new ETag)
  const bytes = Buffer.concat([await state.Body!.transformToByteArray(), Buffer.alloc(4096)])
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'lake/_state/pipeline.sqlite', Body: bytes }))
  await t.rejects(lakehouse.commit({ status: 'unchanged', fullRefresh: false, files: [], versions: [], report: {} }), { code: 'PIPE_ERR_LEASE_LOST' })
  await lakehouse.close()
  const history = await cliS3(s3, ['pipeline', 'history', '--lakehouse', s3.uri('lake'), '--json'])
  t.same((JSON.parse(history.stdout) as Array<{ id: number }>).map((r) => r.id), [first.runId], 'the refused run left no trace in the state')
})

t.test('the lease: renewed while held, lost when taken over, free again once released', async (t) => {
  const s3 = await startS3(t)
  const session = openS3Session(s3.connection)
  t.teardown(() => { session.close() })
  const bucket = session.bucket(s3.bucket)
  const key = `lake/${LEASE_KEY}`
  const a = await Lease.acquire(bucket, key, 'lake', leaseTiming(1500), 0)
  await new Promise((resolve) => setTimeout(resolve, 2500))
  await t.rejects(Lease.acquire(bucket, key, 'lake', leaseTiming(1500), 0), { code: 'PIPE_ERR_BUSY' }, 'renewed past its first expiry: still held')
  await a.confirm()
  // taken over behind its back (its renewals are conditional on the ETag it wrote)
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: JSON.stringify({ holder: 'other', pid: 1, host: 'h', since: '', expiresAt: Date.now() + 60_000 }) }))
  await t.rejects(a.confirm(), { code: 'PIPE_ERR_LEASE_LOST' }, 'the holder learns it at its next renewal')
  await a.release()
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: JSON.stringify({ holder: 'other', pid: 1, host: 'h', since: '', expiresAt: 0, released: true }) }))
  const b = await Lease.acquire(bucket, key, 'lake', leaseTiming(1500), 0)
  await b.release()
  const c = await Lease.acquire(bucket, key, 'lake', leaseTiming(1500), 0)
  t.pass('a released lease is taken at once')
  await c.release()
})

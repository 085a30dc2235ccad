// Erasure with landing and lakehouse in a bucket of a real S3 server (versitygw): the landing
// objects are replaced (If-Match: erasure is their one rewriter), every table object rewritten, and
// the server's own folder, every byte it keeps, holds nothing of the customer.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { parseLocation } from '../../common/storage-location.js'
import { scanPlaces } from '../../pipeline/privacy/scan.js'
import { PUBLISHED, cli, rows, run, tempDir } from '../helpers/index.js'
import { s3Fingerprint, s3Rows, startS3, uploadPublished } from '../helpers/s3.js'

t.test('erasure on S3: landing objects replaced, table objects rewritten, nothing left in the server\'s files', async (t) => {
  const s3 = await startS3(t)
  const env = { ...s3.env, STEDI_PRIVACY_KEY: 's3-test-privacy-key-0123456789' }
  await uploadPublished(s3, 'landing')
  const places = ['--landing', s3.uri('landing'), '--lakehouse', s3.uri('lakehouse')]
  t.equal((await cli(['pipeline', 'run', ...places], { env })).code, 0)
  const [who] = await s3Rows(s3, s3.uri('lakehouse'), 'SELECT email, serialNumber FROM customer_curated ORDER BY email DESC LIMIT 1')
  const email = String(who.email)
  const serial = String(who.serialNumber)
  const server = [{ name: 'server', location: parseLocation(s3.dir, '--dir') }]
  t.ok((await scanPlaces(server, { emails: [email], serials: [serial] }, undefined)).occurrences.length > 0, 'the server\'s files hold the customer before')

  const erase = await cli(['privacy', 'erase', '--email', email, ...places, '--json'], { env })
  t.equal(erase.code, 0, erase.stderr)
  const receipt = JSON.parse(erase.stdout)
  t.ok(receipt.landing.filesRewritten >= 3 && receipt.lakehouse.filesRewritten > 0)
  const verify = await cli(['privacy', 'verify', '--email', email, ...places, '--json'], { env })
  t.equal(verify.code, 0, verify.stdout + verify.stderr)
  t.same((await scanPlaces(server, { emails: [email], serials: [serial] }, undefined)).occurrences, [], 'no byte of the server\'s folder holds the email or the serial')

  // the reference: a local build of the landing without the customer's records
  const dir = await tempDir(t)
  for (const sub of ['customer/landing', 'accelerometer/landing', 'step_trainer/landing']) {
    await fs.mkdir(path.join(dir, 'landing', sub), { recursive: true })
    for (const name of await fs.readdir(path.join(PUBLISHED, sub))) {
      const lines = (await fs.readFile(path.join(PUBLISHED, sub, name), 'utf8')).split('\n')
      await fs.writeFile(path.join(dir, 'landing', sub, name), lines.filter((l) => {
        if (l.trim() === '') return true
        const r = JSON.parse(l) as Record<string, unknown>
        return r.email !== email && r.user !== email && r.serialNumber !== serial
      }).join('\n'))
    }
  }
  await run({ landingDir: path.join(dir, 'landing'), lakehouseDir: path.join(dir, 'lakehouse') })
  const local = async (table: string): Promise<unknown> => (await rows(path.join(dir, 'lakehouse'), `SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM ${table} t`))[0]
  for (const table of ['customer_trusted', 'accelerometer_trusted', 'step_trainer_trusted', 'customer_curated', 'machine_learning_curated']) {
    t.same(await s3Fingerprint(s3, s3.uri('lakehouse'), table), await local(table), `${table} equals the build without the customer`)
  }

  // a redelivered original object brings nothing back
  await s3.client.send(new (await import('@aws-sdk/client-s3')).PutObjectCommand({
    Bucket: s3.bucket, Key: 'landing/customer/landing/customer-redelivered.json', Body: await fs.readFile(path.join(PUBLISHED, 'customer/landing/customer-1691348231425.json'))
  }))
  const again = await cli(['pipeline', 'run', ...places, '--json'], { env })
  t.equal(again.code, 0, again.stderr)
  t.same(JSON.parse(again.stdout).newFiles, { customer: 1, accelerometer: 0, step_trainer: 0 }, 'the rewritten objects are known: only the redelivered one is read')
  t.equal(JSON.parse(again.stdout).accounting.customer.filtered.erased, 2, 'the redelivered record is filtered out as erased (with the one the erasure removed)')
  t.same(await s3Rows(s3, s3.uri('lakehouse'), `SELECT email FROM customer_landing WHERE email = '${email.replaceAll("'", "''")}'`), [], 'not back in landing')
})

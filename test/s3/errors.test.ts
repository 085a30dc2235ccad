// S3 locations on the command line: a URI of another scheme is a usage error (never a local folder
// named `s3:`); an unreachable endpoint, refused credentials or a missing bucket is exit 1 with one
// line naming the endpoint and the bucket; a prefix that holds other things is not a lakehouse.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { PUBLISHED, cli, tempDir } from '../helpers/index.js'
import { putLanding, startS3, uploadPublished } from '../helpers/s3.js'

t.test('a URI of another scheme, or a malformed s3 URI, is a usage error and creates nothing', async (t) => {
  const cwd = await tempDir(t)
  for (const [flag, value] of [['--landing', 'gs://bucket/landing'], ['--lakehouse', 'file:///tmp/x'], ['--lakehouse', 's3:/bucket/x'], ['--landing', 's3://Bad_Bucket/x'], ['--lakehouse', 'S3A://bucket/x']]) {
    const args = flag === '--landing' ? ['--landing', value, '--lakehouse', 'lake'] : ['--landing', 'in', '--lakehouse', value]
    const r = await cli(['pipeline', 'run', ...args], { cwd })
    t.equal(r.code, 2, `${flag} ${value}: exit 2`)
    t.match(r.stderr, /^stedi pipeline run: --(landing|lakehouse) .*\(stedi pipeline run --help\)\n$/, 'one line')
  }
  for (const command of [['counts'], ['query', 'SELECT 1'], ['pipeline', 'history']]) {
    const r = await cli([...command, '--lakehouse', 'gs://bucket/x'], { cwd })
    t.equal(r.code, 2, `${command[0]}: exit 2`)
  }
  t.same(await fs.readdir(cwd), [], 'no folder named s3: or gs: or anything else')
  const endpoint = await cli(['counts', '--lakehouse', 's3://bucket/x', '--s3-endpoint', 'ftp://host'], { cwd })
  t.equal(endpoint.code, 2, 'a bad --s3-endpoint is a usage error')
})

t.test('unreachable endpoint, refused credentials, missing bucket: exit 1, one line naming endpoint and bucket', async (t) => {
  const s3 = await startS3(t)
  await uploadPublished(s3, 'landing', (rel) => rel.startsWith('customer'))
  const local = await tempDir(t)
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    ['unreachable', ['pipeline', 'run', '--landing', s3.uri('landing'), '--lakehouse', path.join(local, 'a')], { ...s3.env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' },
      /^stedi pipeline run: cannot reach S3 at http:\/\/127\.0\.0\.1:9, bucket stedi-test \(ECONNREFUSED\).*\[PIPE_ERR_S3_UNREACHABLE\]\n$/],
    ['refused credentials', ['pipeline', 'run', '--landing', s3.uri('landing'), '--lakehouse', s3.uri('lake')], { ...s3.env, AWS_SECRET_ACCESS_KEY: 'wrong-secret' },
      new RegExp(`^stedi pipeline run: S3 at ${s3.endpoint}, bucket stedi-test refused the credentials .*\\[PIPE_ERR_S3_CREDENTIALS\\]\\n$`)],
    ['missing bucket', ['pipeline', 'run', '--landing', PUBLISHED, '--lakehouse', 's3://no-such-bucket/lake'], s3.env,
      new RegExp(`^stedi pipeline run: S3 at ${s3.endpoint}, bucket no-such-bucket does not exist: create the bucket or fix the s3:// URI \\[PIPE_ERR_S3_NO_BUCKET\\]\\n$`)],
    ['missing bucket (landing)', ['pipeline', 'run', '--landing', 's3://no-such-bucket/in', '--lakehouse', path.join(local, 'b')], s3.env,
      new RegExp(`^stedi pipeline run: S3 at ${s3.endpoint}, bucket no-such-bucket does not exist.*\\[PIPE_ERR_S3_NO_BUCKET\\]\\n$`)],
    ['missing bucket (counts)', ['counts', '--lakehouse', 's3://no-such-bucket/lake', '--json'], s3.env,
      new RegExp(`^stedi counts: S3 at ${s3.endpoint}, bucket no-such-bucket does not exist.*\\[PIPE_ERR_S3_NO_BUCKET\\]\\n$`)],
    ['no credentials at all', ['counts', '--lakehouse', s3.uri('lake')], { ...s3.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: 'stedi-none', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' },
      /\[PIPE_ERR_S3_CREDENTIALS\]\n$/]
  ]
  for (const [name, args, env, expected] of cases) {
    const started = Date.now()
    const r = await cli(args, { env })
    t.equal(r.code, 1, `${name}: exit 1`)
    t.match(r.stderr, expected, name)
    t.ok(Date.now() - started < 20_000, `${name}: fails within seconds`)
  }
  t.same(await fs.readdir(local), [], 'no local lakehouse was created for a run that could not start')
})

t.test('a prefix holding other objects is not a lakehouse; a lakehouse with no run is reported as such', async (t) => {
  const s3 = await startS3(t)
  await putLanding(s3, 'in', 'customer', 'a.json', [{ not: 'a customer' }])
  await putLanding(s3, 'busy', 'customer', 'a.json', [{ not: 'a lakehouse' }])
  const r = await cli(['pipeline', 'run', '--landing', s3.uri('in'), '--lakehouse', s3.uri('busy')], { env: s3.env })
  t.equal(r.code, 1)
  t.match(r.stderr, /s3:\/\/stedi-test\/busy is not a lakehouse \(it holds objects and no _state\/pipeline.sqlite\).*\[PIPE_ERR_NOT_A_LAKEHOUSE\]/)
  const missing = await cli(['counts', '--lakehouse', s3.uri('nothing-here')], { env: s3.env })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /no lakehouse at s3:\/\/stedi-test\/nothing-here: run `stedi pipeline run --lakehouse s3:\/\/stedi-test\/nothing-here` first \[PIPE_ERR_LAKEHOUSE_MISSING\]/)
  const empty = await cli(['pipeline', 'run', '--landing', s3.uri('no-landing'), '--lakehouse', s3.uri('lake')], { env: s3.env })
  t.equal(empty.code, 1)
  t.match(empty.stderr, /landing s3:\/\/stedi-test\/no-landing has no objects in customer\/landing\/.*\[PIPE_ERR_LANDING_EMPTY_LAYOUT\]/)
})

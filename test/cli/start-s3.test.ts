// Issue 11: `stedi start --landing s3://… --lakehouse s3://…`, the platform in one process against a
// bucket: the gateway lands objects, the scheduled promotion reads them and keeps its lakehouse in
// the same bucket, and SIGTERM lands what waits and promotes once more.
import { spawn } from 'node:child_process'
import t from 'tap'
import { SECRET, credential } from '../helpers/gateway.js'
import { STEDI_BIN, cli, tempDir } from '../helpers/index.js'
import { startS3 } from '../helpers/s3.js'

t.test('stedi start against a bucket: readings in, the machine-learning table out, all in S3', async (t) => {
  const s3 = await startS3(t)
  const dir = await tempDir(t)
  const child = spawn(process.execPath, [STEDI_BIN, 'start', '--var', dir, '--landing', s3.uri('landing'), '--lakehouse', s3.uri('lakehouse'),
    '--mqtt-port', '0', '--http-port', '0', '--every', '1h'], { env: { ...process.env, ...s3.env, STEDI_GATEWAY_SECRET: SECRET } })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { child.kill('SIGKILL') })
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const http = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out); if (m !== null) resolve(m[1]) })
    void exited.then(() => reject(new Error(`exited: ${out} ${err}`)))
  })
  const post = async (route: string, body: unknown, token: string): Promise<number> => (await fetch(`${http}${route}`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body)
  })).status
  const T = 1655564444103
  for (let c = 0; c < 3; c++) {
    t.equal(await post('/v1/customers', { customerName: `C ${c}`, email: `c${c}@example.com`, phone: '1', birthDay: '1990-01-01', serialNumber: `sn-${c}`, registrationDate: T - 1e6, lastUpdateDate: T - 1e6, shareWithResearchAsOfDate: T - 1e6 }, credential('service', 'website')), 202)
    t.equal(await post('/v1/readings/accelerometer', { seq: 0, readings: [0, 1, 2].map((k) => ({ timestamp: T + c * 1000 + k, x: 1, y: 0, z: -1 })) }, credential('accelerometer', `c${c}@example.com`)), 202)
    t.equal(await post('/v1/readings/step-trainer', { seq: 0, readings: [0, 1, 2].map((k) => ({ sensorReadingTime: T + c * 1000 + k, distanceFromObject: 250 })) }, credential('step-trainer', `sn-${c}`)), 202)
  }
  child.kill('SIGTERM')
  t.equal(await exited, 0, err.slice(-500))
  const counts = await cli(['counts', '--lakehouse', s3.uri('lakehouse'), '--json'], { env: s3.env })
  t.equal(counts.code, 0, counts.stderr)
  t.match(JSON.parse(counts.stdout), { landing: { customer: 3, accelerometer: 9, step_trainer: 9 }, trusted: { customer: 3 }, curated: { customer: 3, machine_learning: 9 } })
})

// Failed logins: the right words (a wrong credential is not valid, a missing one is required),
// counted in /metrics by reason, and logged at most once per reason per interval, with a count and
// the identity hashed (identities are emails).
import { execFile } from 'node:child_process'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import t from 'tap'
import { createLogger } from '../../common/logger.js'
import { createAuthFailures, hashIdentity } from '../../gateway/auth-failures.js'
import { Counter } from '../../gateway/metrics.js'
import { SECRET, credential, startGateway } from '../helpers/gateway.js'

const exec = promisify(execFile)

async function mosquittoPub (url: string, args: string[]): Promise<{ code: number, out: string }> {
  try {
    const { stdout, stderr } = await exec('mosquitto_pub', ['-h', '127.0.0.1', '-p', new URL(url).port, '-q', '1', '-t', 'stedi/v1/accelerometer/x/readings', '-m', '{}', ...args])
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, out: e.stdout + e.stderr }
  }
}

t.test('a wrong credential is "not valid", a missing one "required"; both counted by reason, logged without the email', async (t) => {
  const gw = await startGateway(t)
  const email = 'Santosh.Clayton@test.com'
  const wrong = await mosquittoPub(gw.mqttUrl, ['-u', email, '-P', 'stedi1.accelerometer.x.y'])
  t.match(wrong.out, /bad user name or password/i, 'CONNACK 4 for a wrong credential')
  const missing = await mosquittoPub(gw.mqttUrl, ['-u', email])
  t.match(missing.out, /not authori[sz]ed/i, 'CONNACK 5 for no credential')
  const stolen = await mosquittoPub(gw.mqttUrl, ['-u', email, '-P', credential('accelerometer', 'other@test.com')])
  t.match(stolen.out, /bad user name or password/i)

  const client = mqtt.connect(gw.mqttUrl, { username: email, password: 'nope', reconnectPeriod: 0 })
  t.teardown(async () => { await client.endAsync(true) })
  const err = await new Promise<Error & { code?: number }>((resolve) => client.once('error', resolve))
  t.equal(err.code, 4)

  const post = async (auth?: string): Promise<{ status: number, error: string }> => {
    const res = await fetch(`${gw.httpUrl}/v1/readings/accelerometer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth === undefined ? {} : { authorization: auth }) },
      body: '{}'
    })
    return { status: res.status, error: ((await res.json()) as { error: string }).error }
  }
  t.same(await post('Bearer stedi1.accelerometer.eA.eQ'), { status: 401, error: 'credential not valid' })
  t.same(await post('Basic abc'), { status: 401, error: 'credential not valid' })
  t.match(await post(), { status: 401, error: /required/ })

  const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text()
  t.match(metrics, 'stedi_gateway_auth_failures_total{reason="credential_not_valid",transport="mqtt"} 2')
  t.match(metrics, 'stedi_gateway_auth_failures_total{reason="credential_required",transport="mqtt"} 1')
  t.match(metrics, 'stedi_gateway_auth_failures_total{reason="identity_mismatch",transport="mqtt"} 1')
  t.match(metrics, 'stedi_gateway_auth_failures_total{reason="credential_not_valid",transport="http"} 2')
  t.match(metrics, 'stedi_gateway_auth_failures_total{reason="credential_required",transport="http"} 1')

  const lines = gw.logs.filter((l) => l.msg === 'login refused')
  t.same(lines.map((l) => l.reason).sort(), ['credential_not_valid', 'credential_required', 'identity_mismatch'], 'one line per reason within the interval')
  t.equal(lines.find((l) => l.reason === 'credential_not_valid')?.identity, hashIdentity(email, SECRET), 'keyed with the gateway secret')
  t.equal(hashIdentity(email, SECRET), (await exec('sh', ['-c', `printf 'login:%s' '${email}' | openssl dgst -sha256 -hmac '${SECRET}' -r`])).stdout.slice(0, 12), 'as the README computes it')
  t.notMatch(JSON.stringify(gw.logs), /Santosh/i, 'no identity in the clear')
})

t.test('at most one line per reason per interval, with the count since the last one', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({ write (chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); cb() } })
  let now = 0
  const counter = new Counter('c', 'c')
  const failures = createAuthFailures({ logger: createLogger({ destination }), counter, intervalMs: 5_000, now: () => now })
  for (let i = 0; i < 100; i++) { failures.record('credential_not_valid', 'mqtt', `user${i}@test.com`); now += 10 }
  failures.record('revoked', 'http', 'a@test.com')
  now = 6_000
  failures.record('credential_not_valid', 'mqtt', 'z@test.com')
  t.same(lines.map((l) => [l.reason, l.count]), [['credential_not_valid', 1], ['revoked', 1], ['credential_not_valid', 100]])
  t.equal(counter.get({ reason: 'credential_not_valid', transport: 'mqtt' }), 101)
  t.match(lines[0].identity, /^[0-9a-f]{12}$/)
})

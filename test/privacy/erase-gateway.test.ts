// `stedi privacy erase --gateway URL` and `--gateway-state DIR`: a customer's readings received by a
// gateway are erased from landing, lakehouse and the gateway's state, running or stopped, and a
// device still sending old readings brings nothing back.
import path from 'node:path'
import t from 'tap'
import { cli, tempDir } from '../helpers/index.js'
import { credential, SECRET } from '../helpers/gateway.js'
import { startGatewayProcess } from '../helpers/gateway-process.js'
import { accel, customer, steps } from '../gateway/privacy-helpers.js'

const KEY_ENV = { STEDI_PRIVACY_KEY: 'gateway-e2e-privacy-key-0123456789', STEDI_GATEWAY_SECRET: SECRET }
const A = { email: 'ann.e2e@example.com', serial: 'e2e-serial-ann-0001' }
const B = { email: 'bob.e2e@example.com', serial: 'e2e-serial-bob-0002' }

async function post (base: string, route: string, cred: string, body: unknown): Promise<number> {
  const res = await fetch(base + route, { method: 'POST', headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  await res.arrayBuffer()
  return res.status
}

async function send (base: string, who: { email: string, serial: string }, at: number, seq: number): Promise<void> {
  for (const status of [
    await post(base, '/v1/customers', credential('service', 'website'), [customer(who, at)]),
    await post(base, '/v1/readings/accelerometer', credential('accelerometer', who.email), { seq, readings: accel(at + 10, 3) }),
    await post(base, '/v1/readings/step-trainer', credential('step-trainer', who.serial), { seq, readings: steps(at + 10, 3) })
  ]) if (status !== 202) throw new Error(`gateway answered ${status}`)
}

t.test('erasure through a running gateway, then its stopped state folder; nothing comes back', async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const lakehouse = path.join(dir, 'lakehouse')
  const state = path.join(dir, 'gateway')
  const env = { ...process.env, ...KEY_ENV }
  Object.assign(process.env, { STEDI_PRIVACY_KEY: KEY_ENV.STEDI_PRIVACY_KEY })
  t.teardown(() => { delete process.env.STEDI_PRIVACY_KEY })
  const gw = await startGatewayProcess({ landing, state, secret: SECRET, args: ['--max-batch-age', '200ms'] })
  t.teardown(async () => { await gw.kill() })
  const base = `http://127.0.0.1:${gw.httpPort}`
  const old = Date.now() - 3_600_000
  await send(base, A, old, 1)
  await send(base, B, old, 1)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const places = ['--landing', landing, '--lakehouse', lakehouse, '--gateway-state', state]
  t.equal((await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse], { env })).code, 0)
  const before = await cli(['privacy', 'verify', '--email', A.email, ...places], { env })
  t.equal(before.code, 1, 'the customer is in landing, lakehouse and the gateway state')
  t.match(before.stdout, /gateway-state .*sqlite/)

  const erase = await cli(['privacy', 'erase', '--email', A.email, '--landing', landing, '--lakehouse', lakehouse, '--gateway', base, '--json'], { env })
  t.equal(erase.code, 0, erase.stderr)
  const receipt = JSON.parse(erase.stdout)
  t.equal(receipt.gateways.length, 1)
  t.equal(receipt.gateways[0].receipt.tombstones.added, 2, 'the running gateway took the email\'s and the serial\'s tombstones')
  t.notOk(erase.stdout.includes(A.email) || erase.stdout.includes(A.serial))

  // the device still sends its buffered old readings, the website its old record: acknowledged, kept nowhere
  await send(base, A, old + 100, 2)
  await send(base, B, old + 100, 2)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const after = await cli(['privacy', 'verify', '--email', A.email, ...places, '--json'], { env })
  t.equal(after.code, 0, after.stdout)
  t.equal((await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse], { env })).code, 0)
  const kept = await cli(['privacy', 'report', '--email', B.email, ...places, '--json'], { env })
  t.ok((JSON.parse(kept.stdout) as { where: unknown[] }).where.length > 0, 'the other customer is still everywhere')

  // stopped: the state folder itself
  t.equal(await gw.stop(), 0)
  const erase2 = await cli(['privacy', 'erase', '--email', B.email, ...places, '--json'], { env })
  t.equal(erase2.code, 0, erase2.stderr)
  t.equal(JSON.parse(erase2.stdout).gateways[0].place, `gateway-state ${state}`)
  const final = await cli(['privacy', 'verify', '--email', B.email, ...places], { env })
  t.equal(final.code, 0, final.stdout)
})

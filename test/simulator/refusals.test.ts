// stedi load-test, simulate fleet and simulate replay against a gateway that refuses them, against
// nothing, and against another machine: each ends within seconds with one line saying what to do,
// never a stack trace, never a hang.
import fs from 'node:fs/promises'
import t from 'tap'
import { SIMULATOR_ERRORS } from '../../simulator/errors.js'
import { runFleet } from '../../simulator/fleet.js'
import { generateLanding } from '../../simulator/generate.js'
import { cli, tempDir } from '../helpers/index.js'
import { SECRET, credential, startGateway } from '../helpers/gateway.js'
import { freePort } from '../helpers/gateway-process.js'

const WRONG = { STEDI_GATEWAY_SECRET: 'not-the-gateway-secret-0123456789' }

async function commands (t: Parameters<typeof tempDir>[0], mqttUrl: string, httpUrl: string): Promise<Array<[string, string[]]>> {
  const data = await tempDir(t)
  await generateLanding(data, { customers: 2, seed: 1, consentRatio: 1, badRatio: 0, duplicateRatio: 0 })
  return [
    ['load-test', ['load-test', '--mqtt', mqttUrl, '--http', httpUrl, '--scenario', 'steady', '--devices', '4', '--duration', '1s']],
    ['simulate fleet', ['simulate', 'fleet', '--mqtt', mqttUrl, '--http', httpUrl, '--customers', '2', '--duration', '1s']],
    ['simulate replay', ['simulate', 'replay', '--data', data, '--mqtt', mqttUrl, '--http', httpUrl]]
  ]
}

const oneLine = (stderr: string): boolean => stderr.trim().split('\n').length === 1 && !/\n\s+at /.test(stderr)

t.test('refused credentials: exit 1 within seconds, naming the device kind, no email in clear', async (t) => {
  const gw = await startGateway(t)
  for (const [name, args] of await commands(t, gw.mqttUrl, gw.httpUrl)) {
    const started = Date.now()
    const r = await cli(args, { env: WRONG })
    const ms = Date.now() - started
    t.equal(r.code, 1, `${name}: ${r.stderr}`)
    t.ok(oneLine(r.stderr), `${name}: one line`)
    t.match(r.stderr, /the gateway refused the credentials of .*(step-trainer|devices).*\(CONNACK \d+: .*\): set STEDI_GATEWAY_SECRET/, name)
    t.notMatch(r.stderr, /@/, `${name}: no email`)
    t.ok(ms < 15_000, `${name} ended in ${ms} ms`)
  }
})

t.test('nothing listens: exit 1, one line naming the URL', async (t) => {
  const mqttUrl = `mqtt://127.0.0.1:${await freePort()}`
  const httpUrl = `http://127.0.0.1:${await freePort()}`
  for (const [name, args] of await commands(t, mqttUrl, httpUrl)) {
    const started = Date.now()
    const r = await cli(args, { env: { STEDI_GATEWAY_SECRET: SECRET } })
    t.equal(r.code, 1, `${name}: ${r.stderr}`)
    t.ok(oneLine(r.stderr), `${name}: one line`)
    t.match(r.stderr, `could not reach ${mqttUrl}: nothing listens there`, name)
    t.ok(Date.now() - started < 15_000, `${name} ended in ${Date.now() - started} ms`)
  }
})

t.test('a target on another machine: exit 2, one line, unless --allow-remote', async (t) => {
  for (const [name, args] of await commands(t, 'mqtt://10.1.2.3:1883', 'http://10.1.2.3:8080')) {
    const r = await cli(args, { env: { STEDI_GATEWAY_SECRET: SECRET } })
    t.equal(r.code, 2, `${name}: ${r.stderr}`)
    t.ok(oneLine(r.stderr), `${name}: one line`)
    t.match(r.stderr, /10\.1\.2\.3.* is not a loopback address: .*--allow-remote is given \[SIM_ERR_REMOTE_TARGET\]/, name)
  }
})

t.test('an HTTP 401 on registering customers is a refusal of the service credential', async (t) => {
  const gw = await startGateway(t)
  await t.rejects(runFleet({
    customers: 1, durationMs: 100, ratePerSecond: 1, consentRatio: 1, seed: 1, mqttUrl: gw.mqttUrl, httpUrl: gw.httpUrl,
    credential: (kind, identity) => kind === 'service' ? 'wrong' : credential(kind, identity)
  }), { code: 'SIM_ERR_CREDENTIALS_REFUSED', message: /the gateway refused the credentials of the fleet's service \(registering customers\) \(HTTP 401\)/ })
})

t.test('every simulator error code is in docs/errors.md', async (t) => {
  const doc = await fs.readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8')
  for (const code of Object.keys(SIMULATOR_ERRORS)) t.match(doc, `\`${code}\``, code)
})

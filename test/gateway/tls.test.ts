// TLS with real clients: mosquitto_pub over TLS (--cafile, --cert/--key), mqtt.js over mqtts and wss,
// and HTTPS. A test CA is made with openssl for each run (test/helpers/tls.ts).
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import https from 'node:https'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import t from 'tap'
import { createGatewayConfig } from '../../gateway/config.js'
import { SECRET, credential, landedLines, startGateway } from '../helpers/gateway.js'
import { makeTestPki } from '../helpers/tls.js'

const exec = promisify(execFile)

async function mosquittoPub (port: number, args: string[]): Promise<{ code: number, out: string }> {
  try {
    const { stdout, stderr } = await exec('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-d', ...args], { timeout: 15_000 })
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, out: e.stdout + e.stderr }
  }
}

const reading = (seq: number, time: number): string => JSON.stringify({ seq, readings: [{ sensorReadingTime: time, distanceFromObject: 218 }] })
const port = (url: string): number => Number(new URL(url).port)

async function httpsPost (url: string, ca: Buffer, body: string, headers: Record<string, string>, cert?: { cert: Buffer, key: Buffer }): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, ...cert, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('TLS: mqtts and https with a password credential; plaintext is refused', async (t) => {
  const pki = await makeTestPki(t)
  const gw = await startGateway(t, { tls: { certFile: pki.serverCert, keyFile: pki.serverKey }, batch: { maxAgeMs: 50 } })
  const mqttPort = port(gw.mqttUrl)
  const token = credential('step-trainer', 'sn-1')

  const good = await mosquittoPub(mqttPort, ['--cafile', pki.ca, '-u', 'sn-1', '-P', token, '-t', 'stedi/v1/step-trainer/sn-1/readings', '-m', reading(1, 1655564444103)])
  t.equal(good.code, 0, good.out)
  t.match(good.out, /received PUBACK/)

  const plain = await mosquittoPub(mqttPort, ['-u', 'sn-1', '-P', token, '-t', 'stedi/v1/step-trainer/sn-1/readings', '-m', reading(2, 1655564444104)])
  t.not(plain.code, 0, 'plaintext MQTT on the TLS port is refused')

  const ca = await fs.readFile(pki.ca)
  const post = await httpsPost(`${gw.httpUrl.replace('http:', 'https:')}/v1/readings/step-trainer`, ca, reading(3, 1655564444105), { authorization: `Bearer ${token}` })
  t.equal(post.status, 202, post.body)

  // mqtt.js over wss at /mqtt on the HTTPS port
  const ws = mqtt.connect(`wss://localhost:${port(gw.httpUrl)}/mqtt`, { ca, username: 'sn-1', password: token, reconnectPeriod: 0 })
  t.teardown(async () => { await ws.endAsync(true) })
  await new Promise<void>((resolve, reject) => { ws.once('connect', () => resolve()); ws.once('error', reject) })
  await ws.publishAsync('stedi/v1/step-trainer/sn-1/readings', reading(4, 1655564444106), { qos: 1 })

  await gw.gateway.batcher.drain()
  t.same((await landedLines(gw.landing, 'step_trainer')).map((l) => JSON.parse(l).sensorReadingTime), [1655564444103, 1655564444105, 1655564444106])

  // no plaintext anywhere: the HTTP port answers only TLS
  const refused = await fetch(`${gw.httpUrl}/healthz`).then(() => 'answered', () => 'refused')
  t.equal(refused, 'refused', 'plaintext HTTP on the HTTPS port is refused')
})

t.test('TLS: a plaintext MQTT port only when asked for', async (t) => {
  const pki = await makeTestPki(t)
  const gw = await startGateway(t, { tls: { certFile: pki.serverCert, keyFile: pki.serverKey }, mqttPlainPort: 0 })
  const { mqttPlainPort } = gw.ports
  t.type(mqttPlainPort, 'number')
  const plain = await mosquittoPub(mqttPlainPort!, ['-u', 'sn-1', '-P', credential('step-trainer', 'sn-1'), '-t', 'stedi/v1/step-trainer/sn-1/readings', '-m', reading(1, 1655564444103)])
  t.equal(plain.code, 0, plain.out)
})

t.test('TLS with a client CA: a device authenticates by its certificate (CN, OU); another CA is refused at the handshake', async (t) => {
  const pki = await makeTestPki(t)
  const gw = await startGateway(t, { tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.ca }, batch: { maxAgeMs: 50 } })
  const mqttPort = port(gw.mqttUrl)
  const device = await pki.client('sn-7', 'step-trainer')
  const topic = 'stedi/v1/step-trainer/sn-7/readings'

  const byCert = await mosquittoPub(mqttPort, ['--cafile', pki.ca, '--cert', device.cert, '--key', device.key, '-t', topic, '-m', reading(1, 1655564444103)])
  t.equal(byCert.code, 0, `no username, no password: the certificate is the credential\n${byCert.out}`)
  const withName = await mosquittoPub(mqttPort, ['--cafile', pki.ca, '--cert', device.cert, '--key', device.key, '-u', 'sn-7', '-t', topic, '-m', reading(2, 1655564444104)])
  t.equal(withName.code, 0, withName.out)
  const otherName = await mosquittoPub(mqttPort, ['--cafile', pki.ca, '--cert', device.cert, '--key', device.key, '-u', 'sn-8', '-t', 'stedi/v1/step-trainer/sn-8/readings', '-m', reading(3, 1655564444105)])
  t.not(otherName.code, 0, 'the username, if given, must be the certificate\'s CN')

  const stranger = await pki.stranger('sn-7', 'step-trainer')
  const strangerPub = await mosquittoPub(mqttPort, ['--cafile', pki.ca, '--cert', stranger.cert, '--key', stranger.key, '-t', topic, '-m', reading(4, 1655564444106)])
  t.not(strangerPub.code, 0, `a certificate from another CA is refused\n${strangerPub.out}`)
  t.notMatch(strangerPub.out, /CONNACK/, 'refused before any MQTT is exchanged')

  // a password device needs no certificate on the same port
  const byPassword = await mosquittoPub(mqttPort, ['--cafile', pki.ca, '-u', 'sn-1', '-P', credential('step-trainer', 'sn-1'), '-t', 'stedi/v1/step-trainer/sn-1/readings', '-m', reading(5, 1655564444107)])
  t.equal(byPassword.code, 0, byPassword.out)

  // mqtt.js with the certificate, and HTTPS with it
  const ca = await fs.readFile(pki.ca)
  const cert = { cert: await fs.readFile(device.cert), key: await fs.readFile(device.key) }
  const client = mqtt.connect(`mqtts://localhost:${mqttPort}`, { ca, ...cert, reconnectPeriod: 0 })
  t.teardown(async () => { await client.endAsync(true) })
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject) })
  await client.publishAsync(topic, reading(6, 1655564444108), { qos: 1 })
  const post = await httpsPost(`https://localhost:${port(gw.httpUrl)}/v1/readings/step-trainer`, ca, reading(7, 1655564444109), {}, cert)
  t.equal(post.status, 202, post.body)

  await gw.gateway.batcher.drain()
  const lines = (await landedLines(gw.landing, 'step_trainer')).map((l) => JSON.parse(l) as { serialNumber: string, sensorReadingTime: number })
  t.same(lines.filter((l) => l.serialNumber === 'sn-7').map((l) => l.sensorReadingTime), [1655564444103, 1655564444104, 1655564444108, 1655564444109])
  t.equal(gw.gateway.metrics.authFailures.get({ reason: 'certificate_not_valid', transport: 'mqtt' }), 1)
})

t.test('TLS files that cannot be used stop the gateway at start', async (t) => {
  const pki = await makeTestPki(t)
  await t.rejects(startGateway(t, { tls: { certFile: pki.serverCert, keyFile: pki.ca } }), { code: 'GW_ERR_TLS' })
  await t.rejects(startGateway(t, { tls: { certFile: `${pki.dir}/missing.pem`, keyFile: pki.serverKey } }), { code: 'GW_ERR_TLS' })
})

t.test('TLS: open HTTPS keep-alive and wss connections stop being pending at their first request', async (t) => {
  const pki = await makeTestPki(t)
  const gw = await startGateway(t, { maxPendingConnections: 3, tls: { certFile: pki.serverCert, keyFile: pki.serverKey } })
  const ca = await fs.readFile(pki.ca)
  const agents: https.Agent[] = []
  t.teardown(() => { for (const a of agents) a.destroy() })
  let ok = 0
  for (let i = 0; i < 6; i++) {
    const agent = new https.Agent({ keepAlive: true, ca })
    agents.push(agent)
    const status = await new Promise<number>((resolve) => {
      https.get(`https://localhost:${port(gw.httpUrl)}/healthz`, { agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) }).on('error', () => resolve(0))
    })
    if (status === 200) ok++
  }
  t.equal(ok, 6, 'six open keep-alive connections, three pending slots')
  for (let i = 0; i < 4; i++) {
    const ws = mqtt.connect(`wss://localhost:${port(gw.httpUrl)}/mqtt`, { ca, username: `sn-${i}`, password: credential('step-trainer', `sn-${i}`), reconnectPeriod: 0, keepalive: 0 })
    ws.on('error', () => {})
    t.teardown(async () => { await ws.endAsync(true) })
    t.ok(await new Promise<boolean>((resolve) => { ws.once('connect', () => resolve(true)); ws.once('close', () => resolve(false)) }), `wss device ${i} connects`)
  }
})

t.test('the TLS options are checked once, in the config', async (t) => {
  const base = { landingDir: 'l', stateDir: 's', secrets: [SECRET] }
  t.throws(() => createGatewayConfig({ ...base, mqttPlainPort: 1884 }), { code: 'GW_ERR_CONFIG', message: /--mqtt-plain-port is for a gateway with TLS/ })
  t.throws(() => createGatewayConfig({ ...base, tls: { certFile: 'c.pem', keyFile: '' } }), { code: 'GW_ERR_CONFIG', message: /both --tls-cert FILE and --tls-key FILE/ })
  t.throws(() => createGatewayConfig({ ...base, tls: { certFile: 'c.pem', keyFile: 'k.pem' }, mqttPlainPort: 70000 }), { code: 'GW_ERR_CONFIG' })
  const config = createGatewayConfig({ ...base, tls: { certFile: 'c.pem', keyFile: 'k.pem', clientCaFile: 'ca.pem' }, mqttPlainPort: 1884, revocationList: 'var/r.jsonl' })
  t.ok(Object.isFrozen(config.tls))
  t.equal(config.revocationPollMs, 1000)
  t.match(config.revocationList, /^\/.*var\/r\.jsonl$/, 'the list\'s path is made absolute once')
})

// Transport security from the command line: `stedi gateway` and `stedi start` with TLS flags
// (the ready line says mqtts:// and https://), `stedi devices token --generation`, `stedi devices
// revoke`, and where the credential commands find the secret. Needs `npm run build`.
import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import https from 'node:https'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { issueCredential, verifyCredential } from '../../gateway/credentials.js'
import { parseRevocations } from '../../gateway/revocations.js'
import { STEDI_BIN, cli, tempDir } from '../helpers/index.js'
import { makeTestPki } from '../helpers/tls.js'

const exec = promisify(execFile)
const SECRET = 'cli-transport-secret-0123456789'

/** Starts `stedi ARGS` and resolves with its ready line (killed at teardown). */
async function startReady (t: { teardown: (fn: () => void) => void }, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, [STEDI_BIN, ...args], { env: { ...process.env, ...env } })
  t.teardown(() => { child.kill('SIGKILL') })
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  return await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.split('\n')[0]) })
    child.on('exit', (code) => reject(new Error(`exited ${String(code)}: ${out}${err}`)))
  })
}

t.test('stedi gateway with TLS: the ready line says mqtts/wss/https, a certificate device publishes, plaintext only on its own port', async (t) => {
  const pki = await makeTestPki(t)
  const dir = await tempDir(t)
  const ready = await startReady(t, ['gateway', '--landing', path.join(dir, 'landing'), '--state', path.join(dir, 'state'), '--mqtt-port', '0', '--http-port', '0',
    '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-client-ca', pki.ca, '--mqtt-plain-port', '0', '--revocation-list', path.join(dir, 'revoked.jsonl')],
  { STEDI_GATEWAY_SECRET: SECRET })
  const m = /ready: mqtts:\/\/127\.0\.0\.1:(\d+) mqtt:\/\/127\.0\.0\.1:(\d+) wss:\/\/127\.0\.0\.1:(\d+)\/mqtt https:\/\/127\.0\.0\.1:(\d+) /.exec(ready)
  t.ok(m !== null, ready)
  const [mqttsPort, plainPort] = [m![1], m![2]]
  const device = await pki.client('sn-9', 'step-trainer')
  const body = JSON.stringify({ seq: 1, readings: [{ sensorReadingTime: 1655564444103, distanceFromObject: 1 }] })
  const pub = await exec('mosquitto_pub', ['-h', '127.0.0.1', '-p', mqttsPort, '--cafile', pki.ca, '--cert', device.cert, '--key', device.key, '-q', '1', '-t', 'stedi/v1/step-trainer/sn-9/readings', '-m', body])
  t.equal(pub.stderr, '')
  const plain = await exec('mosquitto_pub', ['-h', '127.0.0.1', '-p', plainPort, '-u', 'sn-1', '-P', issueCredential(SECRET, 'step-trainer', 'sn-1'), '-q', '1', '-t', 'stedi/v1/step-trainer/sn-1/readings', '-m', body])
  t.equal(plain.stderr, '', 'the plaintext port asked for takes MQTT')
})

t.test('stedi start with TLS: https works, and the secret it keeps is found by devices token', async (t) => {
  const pki = await makeTestPki(t)
  const cwd = await tempDir(t)
  const ready = await startReady(t, ['start', '--var', path.join(cwd, 'var'), '--mqtt-port', '0', '--http-port', '0', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey],
    { STEDI_GATEWAY_SECRET: '' })
  const m = /ready: mqtts:\/\/\S+ wss:\/\/\S+ (https:\/\/127\.0\.0\.1:\d+) /.exec(ready)
  t.ok(m !== null, ready)
  const token = await cli(['devices', 'token', 'sn-a', '--kind', 'step-trainer'], { cwd, env: { STEDI_GATEWAY_SECRET: '' } })
  t.equal(token.code, 0, token.stderr)
  const ca = await fs.readFile(pki.ca)
  const status = await new Promise<number>((resolve, reject) => {
    const req = https.request(`${m![1].replace('127.0.0.1', 'localhost')}/v1/readings/step-trainer`, { method: 'POST', ca, headers: { 'content-type': 'application/json', authorization: `Bearer ${token.stdout.trim()}` } },
      (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.end(JSON.stringify({ sensorReadingTime: 1655564444103, distanceFromObject: 250 }))
  })
  t.equal(status, 202, 'a credential made from var/gateway-secret is the platform\'s')
})

t.test('the credential commands: the secret rule, where the secret is, generations, revoke', async (t) => {
  const cwd = await tempDir(t)
  const short = await cli(['devices', 'token', 'sn-1', '--kind', 'step-trainer'], { cwd, env: { STEDI_GATEWAY_SECRET: 'too-short' } })
  t.equal(short.code, 1)
  t.match(short.stderr, /at least 16 characters.*the gateway would refuse it.*GW_ERR_CONFIG/)
  const none = await cli(['devices', 'token', 'sn-1', '--kind', 'step-trainer'], { cwd, env: { STEDI_GATEWAY_SECRET: '' } })
  t.equal(none.code, 1)
  t.match(none.stderr, /STEDI_GATEWAY_SECRET.*gateway-secret/)
  const fleet = await cli(['simulate', 'fleet', '--mqtt', 'mqtt://127.0.0.1:1', '--http', 'http://127.0.0.1:1'], { cwd, env: { STEDI_GATEWAY_SECRET: '' } })
  t.match(fleet.stderr, /gateway-secret/, 'simulate says where it looked')
  await fs.mkdir(path.join(cwd, 'var'))
  await fs.writeFile(path.join(cwd, 'var', 'gateway-secret'), 'short\n')
  const badFile = await cli(['devices', 'token', 'sn-1', '--kind', 'step-trainer'], { cwd, env: { STEDI_GATEWAY_SECRET: '' } })
  t.match(badFile.stderr, /gateway-secret: a gateway secret must be at least 16/)
  await fs.writeFile(path.join(cwd, 'var', 'gateway-secret'), `${SECRET}\n`)
  const g2 = await cli(['devices', 'token', 'sn-1', '--kind', 'step-trainer', '--generation', '2'], { cwd, env: { STEDI_GATEWAY_SECRET: '' } })
  t.equal(g2.code, 0, g2.stderr)
  t.same(verifyCredential([SECRET], g2.stdout.trim()), { kind: 'step-trainer', identity: 'sn-1', generation: 2 })

  const revoked = await cli(['devices', 'revoke', 'sn-1', '--kind', 'step-trainer'], { cwd })
  t.equal(revoked.code, 0, revoked.stderr)
  t.match(revoked.stdout, /below generation 1 .*revoked-devices\.jsonl.*\n.*stedi devices token sn-1 --kind step-trainer --generation 1/s)
  const again = await cli(['devices', 'revoke', 'sn-1', '--kind', 'step-trainer', '--list', path.join(cwd, 'var', 'revoked-devices.jsonl')], { cwd })
  t.match(again.stdout, /below generation 2/)
  const list = parseRevocations(await fs.readFile(path.join(cwd, 'var', 'revoked-devices.jsonl'), 'utf8'))
  t.equal(list.entries.get('step-trainer\u0000sn-1')?.minGeneration, 2)
  const usage = await cli(['devices', 'revoke', 'sn-1'], { cwd })
  t.equal(usage.code, 2)
  const half = await cli(['gateway', '--tls-cert', 'server.pem', '--mqtt-port', '0', '--http-port', '0'], { cwd, env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(half.code, 2, 'a certificate without its key is a usage error')
  t.match(half.stderr, /--tls-cert and --tls-key go together/)
  const missing = await cli(['gateway', '--tls-cert', 'server.pem', '--tls-key', 'server.key', '--mqtt-port', '0', '--http-port', '0', '--state', 's', '--landing', 'l'], { cwd, env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /--tls-cert .*server\.pem.*ENOENT.*\[GW_ERR_TLS\]/)
})

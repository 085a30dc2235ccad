// Issue 10, case 6: one unauthenticated, never-finished HTTP body blocked SIGTERM shutdown for as
// long as the client liked (so `stedi start` never ran its final promotion), and a few hundred of
// them exhausted file descriptors. A request that needs a credential is now answered before its
// body is read; a whole request must arrive within the request timeout; on close, what is in
// flight gets a grace period and then every connection is cut.
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import t from 'tap'
import { STEDI_BIN, tempDir } from '../helpers/index.js'
import { SECRET, connectDevice, credential, startGateway } from '../helpers/gateway.js'

/** A POST that declares a body it never finishes; resolves with what the server answered and whether it closed. */
async function slowBody (port: number, url: string, authorization?: string): Promise<{ socket: net.Socket, answer: Promise<{ status: number | null, closed: boolean }> }> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(`POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n` +
    (authorization !== undefined ? `Authorization: ${authorization}\r\n` : '') + '\r\n{"readings": [')
  let data = ''
  socket.on('data', (d: Buffer) => { data += d.toString() })
  const answer = new Promise<{ status: number | null, closed: boolean }>((resolve) => {
    socket.once('close', () => resolve({ status: /^HTTP\/1\.1 (\d+)/.exec(data) === null ? null : Number(/^HTTP\/1\.1 (\d+)/.exec(data)![1]), closed: true }))
  })
  return { socket, answer }
}

t.test('an unauthenticated slow body is answered 401 before it is read, and its connection closed; hundreds of them hold nothing', async (t) => {
  const gw = await startGateway(t)
  const port = Number(new URL(gw.httpUrl).port)
  const hostile = await Promise.all(Array.from({ length: 300 }, async (_, i) =>
    await slowBody(port, i % 2 === 0 ? '/v1/readings/step-trainer' : '/v1/customers', i % 3 === 0 ? 'Bearer not-a-credential' : undefined)))
  const answers = await Promise.all(hostile.map(async (h) => await h.answer))
  t.ok(answers.every((a) => a.status === 401 && a.closed), 'all 300: 401 and closed')
  const device = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  await device.publishAsync('stedi/v1/step-trainer/sn-1/readings', JSON.stringify({ sensorReadingTime: 1655564444103, distanceFromObject: 2 }), { qos: 1 })
  t.pass('devices still connect and are acknowledged')
})

t.test('an authenticated body that never finishes is cut off at the request timeout', async (t) => {
  const gw = await startGateway(t, { requestTimeoutMs: 500 })
  const port = Number(new URL(gw.httpUrl).port)
  const slow = await slowBody(port, '/v1/readings/step-trainer', `Bearer ${credential('step-trainer', 'sn-1')}`)
  const answer = await slow.answer
  t.ok(answer.closed && answer.status === 408, `closed (answered ${String(answer.status)})`)
})

async function spawnReady (args: string[]): Promise<{ child: ReturnType<typeof spawn>, http: number, exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [STEDI_BIN, ...args], { env: { ...process.env, STEDI_GATEWAY_SECRET: SECRET } })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  child.stderr!.resume()
  const http = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(out); if (m !== null) resolve(Number(m[1])) })
    void exited.then(() => reject(new Error(`exited before ready: ${out}`)))
  })
  return { child, http, exited }
}

t.test('SIGTERM: a request that never finishes does not hold the gateway past its grace period', async (t) => {
  const dir = await tempDir(t)
  const gw = await spawnReady(['gateway', '--landing', path.join(dir, 'landing'), '--state', path.join(dir, 'state'), '--mqtt-port', '0', '--http-port', '0', '--shutdown-grace', '500ms'])
  t.teardown(() => { gw.child.kill('SIGKILL') })
  const slow = await slowBody(gw.http, '/v1/readings/step-trainer', `Bearer ${credential('step-trainer', 'sn-1')}`)
  t.teardown(() => { slow.socket.destroy() })
  gw.child.kill('SIGTERM')
  t.equal(await gw.exited, 0, 'exit 0')
  t.ok((await slow.answer).closed, 'the slow client was cut off')
})

t.test('stedi start: SIGTERM with a request that never finishes still lands and runs the final promotion', async (t) => {
  const dir = await tempDir(t)
  const platform = await spawnReady(['start', '--var', dir, '--mqtt-port', '0', '--http-port', '0', '--every', '1h'])
  t.teardown(() => { platform.child.kill('SIGKILL') })
  const slow = await slowBody(platform.http, '/v1/customers', `Bearer ${credential('service', 'website')}`)
  t.teardown(() => { slow.socket.destroy() })
  platform.child.kill('SIGTERM')
  t.equal(await platform.exited, 0)
  const { cli } = await import('../helpers/index.js')
  const history = await cli(['pipeline', 'history', '--lakehouse', path.join(dir, 'lakehouse')])
  t.equal(history.code, 0)
  t.match(history.stdout, /\bok\b/, 'the final promotion ran')
})

t.test('Expect: 100-continue: leave to send the body only with a credential', async (t) => {
  const gw = await startGateway(t)
  const port = Number(new URL(gw.httpUrl).port)
  const ask = async (authorization?: string): Promise<string> => await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`POST /v1/readings/step-trainer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\nExpect: 100-continue\r\n${authorization !== undefined ? `Authorization: ${authorization}\r\n` : ''}\r\n`)
    })
    let data = ''
    s.on('data', (d: Buffer) => { data += d.toString(); if (data.includes('\r\n\r\n')) { s.destroy(); resolve(data.split('\r\n')[0]) } })
    s.on('error', () => resolve(data))
  })
  t.match(await ask(), /^HTTP\/1\.1 401/, 'no credential: 401, no 100 Continue')
  t.match(await ask(`Bearer ${credential('step-trainer', 'sn-1')}`), /^HTTP\/1\.1 100/, 'a device: 100 Continue')
})

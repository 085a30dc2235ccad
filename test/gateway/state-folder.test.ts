// Issue 10, case 10: two gateways could run on one --state folder (both said ready, the second
// failed every publish), and a gateway whose port was taken logged GW_ERR_LISTEN and kept running,
// listening on nothing. Also here: a gateway of this release started on a state written by the
// previous release lands everything that waited there and keeps deduplicating.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import t from 'tap'
import { STEDI_BIN, ROOT, cli, tempDir } from '../helpers/index.js'
import { SECRET, connectDevice, landedLines, ledger, startGateway } from '../helpers/gateway.js'

t.test('a second gateway on the same state folder exits 3, naming the one that holds it', async (t) => {
  const dir = await tempDir(t)
  const args = ['gateway', '--landing', path.join(dir, 'landing'), '--state', path.join(dir, 'state'), '--mqtt-port', '0', '--http-port', '0']
  const first = spawn(process.execPath, [STEDI_BIN, ...args], { env: { ...process.env, STEDI_GATEWAY_SECRET: SECRET } })
  t.teardown(() => { first.kill('SIGKILL') })
  first.stderr.resume()
  const ports = await new Promise<string>((resolve) => { let out = ''; first.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) resolve(out) }) })
  const mqttPort = /mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(ports)![1]
  const second = await cli(args, { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(second.code, 3)
  t.match(second.stderr, new RegExp(`in use by gateway pid ${first.pid!} on .* \\(mqtt ${mqttPort}, http \\d+\\).*\\[GW_ERR_STATE_BUSY\\]`))
  t.equal(second.stdout, '', 'it never said ready')
})

t.test('a gateway that cannot listen exits 1 at once, and leaves its state free', async (t) => {
  const dir = await tempDir(t)
  const taken = net.createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => { taken.close() })
  const port = (taken.address() as net.AddressInfo).port
  const args = ['gateway', '--landing', path.join(dir, 'landing'), '--state', path.join(dir, 'state'), '--http-port', '0']
  const failed = await cli([...args, '--mqtt-port', String(port)], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(failed.code, 1)
  t.match(failed.stderr, /GW_ERR_LISTEN/)
  const httpTaken = await cli([...args.slice(0, -2), '--mqtt-port', '0', '--http-port', String(port)], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(httpTaken.code, 1, 'the HTTP port taken: exit 1 too')
  t.match(httpTaken.stderr, /GW_ERR_LISTEN/)
  // the state it opened is released: another gateway takes it
  const gw = await startGateway(t, { landingDir: path.join(dir, 'landing'), stateDir: path.join(dir, 'state') })
  t.ok(gw.mqttUrl.startsWith('mqtt://'))
})

t.test('a state written by the previous release: what waited lands, redeliveries are still recognised', async (t) => {
  // test/fixtures/gateway-state-v1: made by that release (make.mjs), killed with readings waiting
  const dir = await tempDir(t)
  const fixture = path.join(ROOT, 'test/fixtures/gateway-state-v1')
  await fs.cp(path.join(fixture, 'state'), path.join(dir, 'state'), { recursive: true })
  await fs.cp(path.join(fixture, 'landing'), path.join(dir, 'landing'), { recursive: true })
  const before = await landedLines(path.join(dir, 'landing'), 'accelerometer')
  t.equal(before.length, 11, 'the previous release landed 11 readings')
  // the fixture's ledger must not age out of its retention while this test runs
  const gw = await startGateway(t, { landingDir: path.join(dir, 'landing'), stateDir: path.join(dir, 'state'), ledgerRetentionMs: 100 * 365 * 86_400_000, batch: { maxAgeMs: 20 } })
  await gw.gateway.batcher.drain()
  const after = await landedLines(path.join(dir, 'landing'), 'accelerometer')
  t.equal(after.length, 11 + 4 + 4 + 1 + 3, 'the 12 readings that waited landed')
  t.equal(new Set(after).size, after.length, 'none twice')

  const batch = (seq: number, base: number, n: number, bad = 0): string => JSON.stringify({ seq, readings: [
    ...Array.from({ length: n }, (_, k) => ({ timestamp: 1655564444103 + base + k, x: 1, y: 0, z: -1 })),
    ...Array.from({ length: bad }, () => ({ timestamp: 'x', x: 1, y: 0, z: 0 }))] })
  const waiting = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'old-waiting@example.com')
  const landed = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'old-landed@example.com')
  // the same messages the previous release took, sent again
  await waiting.publishAsync('stedi/v1/accelerometer/old-waiting@example.com/readings', batch(0, 1000, 4), { qos: 1 })
  await waiting.publishAsync('stedi/v1/accelerometer/old-waiting@example.com/readings', batch(1, 1100, 4, 1), { qos: 1 })
  await waiting.publishAsync('stedi/v1/accelerometer/old-waiting@example.com/readings', batch(2, 1200, 0, 3), { qos: 1 })
  await waiting.publishAsync('stedi/v1/accelerometer/old-waiting@example.com/readings', JSON.stringify({ timestamp: 1655564445999, x: 0, y: 0, z: 0 }), { qos: 1 })
  await landed.publishAsync('stedi/v1/accelerometer/old-landed@example.com/readings', batch(0, 0, 5), { qos: 1 })
  await landed.publishAsync('stedi/v1/accelerometer/old-landed@example.com/readings', batch(1, 100, 5, 2), { qos: 1 })
  // and a reused seq with new readings
  await landed.publishAsync('stedi/v1/accelerometer/old-landed@example.com/readings', batch(2, 5000, 2), { qos: 1 })
  await gw.gateway.batcher.drain()
  const final = await landedLines(path.join(dir, 'landing'), 'accelerometer')
  t.equal(final.length, after.length + 2, 'only the reused seq\'s new readings landed')
  t.equal(gw.gateway.metrics.deduplicated.get({ dataset: 'accelerometer' }), 4 + 5 + 3 + 1 + 5 + 7)
  t.equal(gw.gateway.metrics.seqConflicts.get({ dataset: 'accelerometer' }), 1)
  t.match((await ledger(gw.httpUrl, 'accelerometer', 'old-landed@example.com', { seq: 1 })).batch, { deliveries: 2, accepted: 5 })
  const old = await ledger(gw.httpUrl, 'accelerometer', 'old-landed@example.com', { seq: 0 })
  t.ok(old.readings.every((r: any) => r.status === 'landed' && r.file === 'accelerometer-1795806339501-345c2e-0000000001-p000.json'), 'the previous release\'s landed readings: in its file')
})

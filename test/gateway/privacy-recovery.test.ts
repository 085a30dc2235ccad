// An erasure killed half-way is finished by the next call; a running gateway's state is refused
// (busy); a state with erasures refuses to start without its key or with another one.
import { spawn } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { createLogger } from '../../common/logger.js'
import { buildGateway } from '../../gateway/app.js'
import { createGatewayConfig } from '../../gateway/config.js'
import { eraseGatewayState } from '../../gateway/privacy/erase-state.js'
import { ROOT, tempDir } from '../helpers/index.js'
import { SECRET, credential, startGateway } from '../helpers/gateway.js'
import { A, B, KEY, accel, scanFolder, steps, tombstonesOf } from './privacy-helpers.js'

const post = async (base: string, p: string, cred: string, body: unknown): Promise<number> =>
  (await fetch(base + p, { method: 'POST', headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).status

async function stateWithAandB (t: Test): Promise<string> {
  const gw = await startGateway(t, { privacyKey: KEY, batch: { maxAgeMs: 3_600_000, maxRecords: 10_000 } })
  const old = Date.now() - 3_600_000
  for (const who of [A, B]) {
    for (let seq = 1; seq <= 20; seq++) t.equal(await post(gw.httpUrl, '/v1/readings/accelerometer', credential('accelerometer', who.email), { seq, readings: accel(old + seq * 100, 5) }), 202)
    t.equal(await post(gw.httpUrl, '/v1/readings/step-trainer', credential('step-trainer', who.serial), { seq: 1, readings: steps(old, 3) }), 202)
  }
  // landed segments stay in the state for the retention window: A is in it either way
  await gw.gateway.close()
  return gw.state
}

for (const pauseAt of ['tombstones', 'scrubbed'] as const) {
  t.test(`an erasure SIGKILLed after ${pauseAt} is finished by the next call`, async (t) => {
    const state = await stateWithAandB(t)
    const erasedAt = Date.now()
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/fixtures/erase-state-child.ts'), state, pauseAt, String(erasedAt)], { cwd: ROOT })
    let out = ''
    let err = ''
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('paused')) resolve() })
      void exited.then(() => reject(new Error(`the child exited before its pause: ${out} ${err}`)))
    })
    child.kill('SIGKILL')
    await exited
    t.ok((await scanFolder(state, [A.email])).length > 0 || pauseAt === 'scrubbed', 'A still in the state after a kill before the scrub')
    const receipt = await eraseGatewayState(state, tombstonesOf(A, erasedAt), KEY)
    t.equal(receipt.tombstones.added, 0, 'the tombstones were stored before the kill')
    t.same(await scanFolder(state, [A.email, A.serial]), [], 'nothing of A after the second call')
    t.ok((await scanFolder(state, [B.email])).length > 0, 'B kept')
  })
}

t.test('a running gateway\'s state is busy; a state with erasures needs its key', async (t) => {
  const state = await tempDir(t)
  const landing = await tempDir(t)
  const gw = await startGateway(t, { stateDir: state, landingDir: landing, privacyKey: KEY })
  await t.rejects(eraseGatewayState(state, tombstonesOf(A, Date.now()), KEY), { code: 'GW_ERR_STATE_BUSY' })
  await gw.gateway.close()
  await eraseGatewayState(state, tombstonesOf(A, Date.now()), KEY)
  const logger = createLogger({ destination: { write: () => true } as unknown as NodeJS.WritableStream })
  const config = (privacyKey?: Uint8Array): ReturnType<typeof createGatewayConfig> => createGatewayConfig({ secrets: [SECRET], mqttPort: 0, httpPort: 0, landingDir: landing, stateDir: state, privacyKey })
  await t.rejects(buildGateway(config(), { logger }), { code: 'GW_ERR_PRIVACY_KEY', message: /set STEDI_PRIVACY_KEY or STEDI_PRIVACY_KEY_FILE/ })
  await t.rejects(buildGateway(config(Buffer.from('another-key-0123456789abcdef')), { logger }), { code: 'GW_ERR_PRIVACY_KEY', message: /is not the one the state's erasures were made with/ })
  await t.rejects(eraseGatewayState(state, tombstonesOf(A, Date.now(), Buffer.from('another-key-0123456789abcdef')), Buffer.from('another-key-0123456789abcdef')), { code: 'GW_ERR_PRIVACY_KEY' })
  const ok = await buildGateway(config(KEY), { logger })
  await ok.start()
  await ok.close()
})

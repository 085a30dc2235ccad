// How long erasing one customer takes on a gateway state holding N readings (BENCH_READINGS,
// default 100,000, from 50 phones; the erased one sent 1/50 of them): through the state folder of
// a stopped gateway, and through POST /v1/privacy/erasures on a running one. Figures on stdout,
// noisy: one run, on whatever else the machine is doing.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '../common/logger.js'
import { identityHash, keyFingerprint } from '../contracts/privacy.js'
import { buildGateway } from '../gateway/app.js'
import { createGatewayConfig } from '../gateway/config.js'
import { issueCredential } from '../gateway/credentials.js'
import { eraseOnGateway } from '../gateway/privacy/client.js'
import { eraseGatewayState } from '../gateway/privacy/erase-state.js'

const SECRET = 'bench-secret-0123456789abcdef'
const KEY = Buffer.from('bench-privacy-key-0123456789abcdef')
const N = Number(process.env.BENCH_READINGS ?? 100_000)
const PHONES = 50
const PER_BATCH = 500
const email = (i: number): string => `customer${i}@example.com`

async function fill (): Promise<{ state: string, landing: string }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'stedi-bench-erase-'))
  const state = path.join(root, 'state')
  const landing = path.join(root, 'landing')
  const config = createGatewayConfig({ secrets: [SECRET], mqttPort: 0, httpPort: 0, landingDir: landing, stateDir: state, privacyKey: KEY, batch: { maxAgeMs: 3_600_000, maxRecords: 1_000_000 }, rateLimit: { readingsPerSecond: 1e9, burst: 1e9 } })
  const gw = await buildGateway(config, { logger: createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }) })
  const { httpPort } = await gw.start()
  const t0 = Date.now() - 86_400_000
  let sent = 0
  for (let seq = 0; sent < N; seq++) {
    await Promise.all(Array.from({ length: PHONES }, async (_, p) => {
      const readings = Array.from({ length: PER_BATCH }, (_, i) => ({ timestamp: t0 + seq * PER_BATCH + i, x: 1, y: 2, z: 3 }))
      await fetch(`http://127.0.0.1:${httpPort}/v1/readings/accelerometer`, { method: 'POST', headers: { authorization: `Bearer ${issueCredential(SECRET, 'accelerometer', email(p))}`, 'content-type': 'application/json' }, body: JSON.stringify({ seq, readings }) })
    }))
    sent += PHONES * PER_BATCH
  }
  await gw.close()
  return { state, landing }
}

const tombstones = (i: number): Array<{ kind: 'email', hash: string, erasedAt: number }> => [{ kind: 'email', hash: identityHash(KEY, 'email', email(i)), erasedAt: Date.now() }]
const stateBytes = async (dir: string): Promise<number> => { let n = 0; for (const f of await fs.readdir(dir)) n += (await fs.stat(path.join(dir, f))).size; return n }

const { state, landing } = await fill()
process.stderr.write(`state of ${N} readings: ${Math.round(await stateBytes(state) / 1e6)} MB\n`)
let t = performance.now()
const stopped = await eraseGatewayState(state, tombstones(0), KEY)
console.log(JSON.stringify({ case: 'stopped', readings: N, ms: Math.round(performance.now() - t), lockedMs: stopped.lockedMs, erased: stopped.places.segments.records, files: stopped.files }))
const config = createGatewayConfig({ secrets: [SECRET], mqttPort: 0, httpPort: 0, landingDir: landing, stateDir: state, privacyKey: KEY })
const gw = await buildGateway(config, { logger: createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }) })
const { httpPort } = await gw.start()
t = performance.now()
const live = await eraseOnGateway(`http://127.0.0.1:${httpPort}`, issueCredential(SECRET, 'service', 'bench'), { keyFingerprint: keyFingerprint(KEY), tombstones: tombstones(1) })
console.log(JSON.stringify({ case: 'running', readings: N, ms: Math.round(performance.now() - t), lockedMs: live.lockedMs, erased: live.places.segments.records, files: live.files }))
await gw.close()
await fs.rm(path.dirname(state), { recursive: true, force: true })

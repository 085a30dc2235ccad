// npm run bench:gateway-s3: readings landed per second with batches of 50 (20 mqtt.js publishers,
// 20 in flight each), in one run: one gateway on the file sink, one on the S3 sink (a local
// versitygw), and two S3 gateways behind HAProxy (each publisher half through it). "Landed" means
// in the landing zone after SIGTERM's drain: the clock runs from the first publish to the last
// object written. Results (JSON) on stdout, progress on stderr; compare ratios of one run.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { createS3Client, s3ConnectionFromEnv } from '../common/s3-connection.js'
import { startVersitygw } from '../common/versitygw.js'
import { freePort, startGatewayProcess } from '../test/helpers/gateway-process.js'
import { driveMqtt } from './lib/mqtt-load.js'

const SECRET = 'bench-secret-0123456789abcdef'
const PUBLISHERS = Number(process.env.BENCH_PUBLISHERS ?? 20)
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1000)
const BATCH = 50
const log = (m: string): void => { process.stderr.write(`${m}\n`) }

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-gw-s3-'))
const keys = { accessKey: 'bench-key', secretKey: 'bench-secret-0123456789' }
const s3server = await startVersitygw({ dir: path.join(dir, 's3'), host: '127.0.0.1', port: await freePort(), ...keys })
const env = { AWS_ACCESS_KEY_ID: keys.accessKey, AWS_SECRET_ACCESS_KEY: keys.secretKey, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: s3server.endpoint }
Object.assign(process.env, env)
const client = createS3Client(s3ConnectionFromEnv(env))
await client.send(new CreateBucketCommand({ Bucket: 'bench' }))

async function countS3 (s3: S3Client, prefix: string): Promise<number> {
  let n = 0
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'bench', Prefix: prefix, ContinuationToken: token }))
    for (const o of page.Contents ?? []) n += (await (await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: o.Key! }))).Body!.transformToString()).split('\n').filter((l) => l !== '').length
    token = page.NextContinuationToken
  } while (token !== undefined)
  return n
}

async function countFiles (landing: string): Promise<number> {
  const d = path.join(landing, 'accelerometer/landing')
  let n = 0
  for (const f of (await fs.readdir(d)).filter((x) => x.endsWith('.json'))) n += (await fs.readFile(path.join(d, f), 'utf8')).split('\n').filter((l) => l !== '').length
  return n
}

async function haproxy (backends: Array<{ mqttPort: number }>): Promise<{ port: number, stop: () => Promise<void> }> {
  const port = await freePort()
  const cfg = path.join(dir, 'haproxy.cfg')
  await fs.writeFile(cfg, `global\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 120s\n  timeout server 120s\nfrontend mqtt\n  bind 127.0.0.1:${port}\n  default_backend mqtt\nbackend mqtt\n  balance roundrobin\n${backends.map((b, i) => `  server g${i} 127.0.0.1:${b.mqttPort} check`).join('\n')}\n`)
  const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  for (;;) {
    const up = await new Promise<boolean>((resolve) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) }); s.on('error', () => resolve(false)) })
    if (up) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { port, stop: async () => { child.kill(); await exited } }
}

const results: Record<string, unknown> = {}
const measure = async (name: string, gateways: number, sink: 'file' | 's3'): Promise<number> => {
  const landing = sink === 's3' ? `s3://bench/${name}` : path.join(dir, name)
  const gws = await Promise.all(Array.from({ length: gateways }, async (_, i) => await startGatewayProcess({
    landing, state: path.join(dir, `${name}-state-${i}`), secret: SECRET, args: ['--rate-limit', '10000000']
  })))
  const lb = gateways > 1 ? await haproxy(gws) : undefined
  const url = lb !== undefined ? `mqtt://127.0.0.1:${lb.port}` : `mqtt://127.0.0.1:${gws[0].mqttPort}`
  const started = performance.now()
  const load = await driveMqtt({ url, batch: BATCH, secret: SECRET, publishers: PUBLISHERS, messages: MESSAGES, inflight: 20 })
  for (const gw of gws) await gw.stop()
  const landedMs = performance.now() - started
  await lb?.stop()
  const landed = sink === 's3' ? await countS3(client, `${name}/accelerometer/`) : await countFiles(landing)
  const perSecond = Math.round(landed / (landedMs / 1000))
  results[name] = { gateways, sink, acknowledged: load.acked.size, landed, lost: load.acked.size - Math.min(landed, load.acked.size), readingsLandedPerSecond: perSecond, ackMsgPerSecond: Math.round(load.messages / (load.wallMs / 1000)) }
  log(`${name}: ${perSecond} readings landed/s (${landed} of ${load.acked.size} acknowledged)`)
  return perSecond
}

const file = await measure('one-gateway-file', 1, 'file')
const s3 = await measure('one-gateway-s3', 1, 's3')
const two = await measure('two-gateways-s3', 2, 's3')
client.destroy()
await s3server.stop()
await fs.rm(dir, { recursive: true, force: true })
console.log(JSON.stringify({
  machine: { cores: os.cpus().length, node: process.version },
  publishers: PUBLISHERS,
  messagesPerPublisher: MESSAGES,
  batch: BATCH,
  results,
  s3VsFile: Number((s3 / file).toFixed(2)),
  twoVsOne: Number((two / s3).toFixed(2))
}, null, 2))

// Starts a real gateway in the test process on free ports, with its teardown registered at once.
import fs from 'node:fs/promises'
import path from 'node:path'
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt'
import { Writable } from 'node:stream'
import { createLogger } from '../../common/logger.js'
import { type Gateway, buildGateway } from '../../gateway/app.js'
import { type GatewayConfigInput, createGatewayConfig } from '../../gateway/config.js'
import { type CredentialKind, issueCredential } from '../../gateway/credentials.js'
import type { Sink } from '../../gateway/ingest/sinks/sink.js'
import { tempDir } from './index.js'

export const SECRET = 'test-secret-0123456789abcdef'

export interface TestGateway {
  gateway: Gateway
  mqttUrl: string
  httpUrl: string
  landing: string
  state: string
  logs: Array<Record<string, unknown>>
  /** the ports taken (mqttPlainPort with TLS and a plaintext port asked for) */
  ports: { mqttPort: number, httpPort: number, mqttPlainPort?: number }
}

type Teardown = { teardown: (fn: () => Promise<void> | void) => void }

export async function startGateway (t: Teardown, overrides: Partial<GatewayConfigInput> = {}, sink?: Sink): Promise<TestGateway> {
  const landing = overrides.landingDir ?? await tempDir(t)
  const state = overrides.stateDir ?? await tempDir(t)
  const logs: Array<Record<string, unknown>> = []
  const destination = new Writable({ write (chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l !== '') logs.push(JSON.parse(l) as Record<string, unknown>); cb() } })
  const config = createGatewayConfig({ secrets: [SECRET], mqttPort: 0, httpPort: 0, ...overrides, landingDir: landing, stateDir: state })
  const gateway = await buildGateway(config, { logger: createLogger({ destination }), sink })
  const ports = await gateway.start()
  const { mqttPort, httpPort } = ports
  t.teardown(async () => { await gateway.close() })
  // with TLS the ports speak mqtts and https: the URLs keep the port, the tests pick the scheme
  return { gateway, mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, httpUrl: `http://127.0.0.1:${httpPort}`, landing, state, logs, ports }
}

export const credential = (kind: CredentialKind, identity: string, secret = SECRET): string => issueCredential(secret, kind, identity)

/** A connected mqtt.js client for a device (closed at teardown). */
export async function connectDevice (t: Teardown, url: string, kind: CredentialKind, identity: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { username: identity, password: credential(kind, identity), reconnectPeriod: 0, ...options })
  t.teardown(async () => { await client.endAsync(true) })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  return client
}

/** Every line of a dataset's landing files, in file-name order (what the pipeline would read). */
export async function landedLines (landing: string, dataset: string): Promise<string[]> {
  const dir = path.join(landing, dataset, 'landing')
  const lines: string[] = []
  for (const f of (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort()) {
    lines.push(...(await fs.readFile(path.join(dir, f), 'utf8')).split('\n').filter((l) => l !== ''))
  }
  return lines
}

/**
 * Publishes every payload at once (QoS 1), as a device flushing a backlog does, and waits until each
 * has its PUBACK or the connection has closed. Returns the indexes acknowledged and not.
 */
export async function publishAllInFlight (client: MqttClient, topic: string, payloads: string[]): Promise<{ acked: number[], unacked: number[] }> {
  const acked: number[] = []
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  await Promise.race([
    Promise.all(payloads.map(async (p, i) => { await client.publishAsync(topic, p, { qos: 1 }); acked.push(i) })),
    closed
  ])
  return { acked: acked.sort((a, b) => a - b), unacked: payloads.map((_, i) => i).filter((i) => !acked.includes(i)) }
}

/** The ledger's answer for a device's seq (with the device's own credential). */
export async function ledger (httpUrl: string, kind: 'step-trainer' | 'accelerometer', identity: string, key: { seq: number } | { timestamp: number }): Promise<Record<string, any>> {
  const q = 'seq' in key ? `seq=${key.seq}` : `timestamp=${key.timestamp}`
  const res = await fetch(`${httpUrl}/v1/records?kind=${kind}&device=${encodeURIComponent(identity)}&${q}`, { headers: { authorization: `Bearer ${credential(kind, identity)}` } })
  return await res.json() as Record<string, any>
}

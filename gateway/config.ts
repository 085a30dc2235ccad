// The gateway's configuration: one schema with defaults and units, validated once and frozen.
// Only the process owner (cli/commands/gateway.ts) reads the environment; it passes values here.
import path from 'node:path'
import { MAX_BATCH_READINGS } from '../contracts/readings.js'
import { GatewayError } from './errors.js'

export interface BatchPolicy {
  /** a landing file holds at most this many records */
  readonly maxRecords: number
  /** ... and at most this many bytes */
  readonly maxBytes: number
  /** a reading waits at most this long (ms) before its file is written, however quiet the device */
  readonly maxAgeMs: number
}

export interface FirehoseConfig {
  readonly region: string
  /** override for tests or VPC endpoints; default: the AWS endpoint of the region */
  readonly endpoint?: string
  /** delivery stream per dataset */
  readonly streams: Readonly<Record<'customer' | 'accelerometer' | 'step_trainer', string>>
  /** retries of the records a PutRecordBatch did not take, before the batch waits for the next flush */
  readonly maxAttempts: number
}

export interface GatewayConfig {
  readonly landingDir: string
  readonly stateDir: string
  readonly host: string
  /** MQTT over TCP; 0 picks a free port */
  readonly mqttPort: number
  /** HTTP API and MQTT over WebSocket (path /mqtt); 0 picks a free port */
  readonly httpPort: number
  readonly sink: 'file' | 'firehose'
  readonly firehose?: FirehoseConfig
  /** secrets that verify device credentials; the first issues them (rotation: add the new one first) */
  readonly secrets: readonly string[]
  /** development only: any client may connect, as any device */
  readonly allowAnonymous: boolean
  readonly batch: BatchPolicy
  /** group commit: the outbox commits what arrived within this window (ms) in one transaction */
  readonly commitWindowMs: number
  /** per device: sustained readings per second, and the burst allowed above it */
  readonly rateLimit: { readonly readingsPerSecond: number, readonly burst: number }
  /** largest MQTT payload or HTTP body accepted (bytes) */
  readonly maxPayloadBytes: number
  readonly maxBatchReadings: number
  /** above this many readings waiting in the outbox, HTTP answers 503 and MQTT acks wait */
  readonly maxOutboxRecords: number
  /** how long landed readings stay in the ledger (answering "what became of it", deduplicating) (ms) */
  readonly ledgerRetentionMs: number
  /** readiness fails when the oldest waiting reading is older than this (ms) */
  readonly maxOutboxAgeMs: number
}

export type GatewayConfigInput = Partial<Omit<GatewayConfig, 'batch' | 'rateLimit'>> & {
  landingDir: string
  stateDir: string
  batch?: Partial<BatchPolicy>
  rateLimit?: Partial<GatewayConfig['rateLimit']>
}

export const GATEWAY_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  mqttPort: 1883,
  httpPort: 8080,
  batch: { maxRecords: 50_000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 2_000 },
  commitWindowMs: 2,
  rateLimit: { readingsPerSecond: 2_000, burst: 20_000 },
  maxPayloadBytes: 512 * 1024,
  maxOutboxRecords: 2_000_000,
  ledgerRetentionMs: 7 * 86_400_000,
  maxOutboxAgeMs: 60_000
})

export function createGatewayConfig (input: GatewayConfigInput): GatewayConfig {
  const config: GatewayConfig = {
    landingDir: path.resolve(input.landingDir),
    stateDir: path.resolve(input.stateDir),
    host: input.host ?? GATEWAY_DEFAULTS.host,
    mqttPort: input.mqttPort ?? GATEWAY_DEFAULTS.mqttPort,
    httpPort: input.httpPort ?? GATEWAY_DEFAULTS.httpPort,
    sink: input.sink ?? 'file',
    firehose: input.firehose,
    secrets: Object.freeze([...(input.secrets ?? [])]),
    allowAnonymous: input.allowAnonymous ?? false,
    batch: Object.freeze({ ...GATEWAY_DEFAULTS.batch, ...input.batch }),
    commitWindowMs: input.commitWindowMs ?? GATEWAY_DEFAULTS.commitWindowMs,
    rateLimit: Object.freeze({ ...GATEWAY_DEFAULTS.rateLimit, ...input.rateLimit }),
    maxPayloadBytes: input.maxPayloadBytes ?? GATEWAY_DEFAULTS.maxPayloadBytes,
    maxBatchReadings: input.maxBatchReadings ?? MAX_BATCH_READINGS,
    maxOutboxRecords: input.maxOutboxRecords ?? GATEWAY_DEFAULTS.maxOutboxRecords,
    ledgerRetentionMs: input.ledgerRetentionMs ?? GATEWAY_DEFAULTS.ledgerRetentionMs,
    maxOutboxAgeMs: input.maxOutboxAgeMs ?? GATEWAY_DEFAULTS.maxOutboxAgeMs
  }
  const bad = (message: string): never => { throw new GatewayError('GW_ERR_CONFIG', message) }
  const port = (name: string, p: number): void => { if (!Number.isInteger(p) || p < 0 || p > 65535) bad(`${name} must be a port number from 0 to 65535 (got ${p})`) }
  port('--mqtt-port', config.mqttPort)
  port('--http-port', config.httpPort)
  const positive = (name: string, n: number): void => { if (!Number.isFinite(n) || n <= 0) bad(`${name} must be a positive number (got ${n})`) }
  positive('batch.maxRecords', config.batch.maxRecords)
  positive('batch.maxBytes', config.batch.maxBytes)
  positive('batch.maxAgeMs', config.batch.maxAgeMs)
  positive('rateLimit.readingsPerSecond', config.rateLimit.readingsPerSecond)
  positive('rateLimit.burst', config.rateLimit.burst)
  positive('maxPayloadBytes', config.maxPayloadBytes)
  if (config.commitWindowMs < 0) bad('commitWindowMs must be 0 or more')
  if (config.sink !== 'file' && config.sink !== 'firehose') bad(`--sink must be file or firehose (got ${String(config.sink)})`)
  if (config.sink === 'firehose' && config.firehose === undefined) bad('--sink firehose needs the firehose region and delivery streams')
  if (config.secrets.length === 0 && !config.allowAnonymous) {
    throw new GatewayError('GW_ERR_NO_SECRET',
      'no gateway secret: set STEDI_GATEWAY_SECRET (devices\' credentials derive from it), or pass --allow-anonymous for development')
  }
  if (config.secrets.some((s) => s.length < 16)) bad('a gateway secret must be at least 16 characters')
  return Object.freeze(config)
}

// The gateway's configuration: one schema with defaults and units, validated once and frozen.
// Only the process owner (cli/commands/gateway.ts) reads the environment; it passes values here.
import path from 'node:path'
import { MAX_BATCH_READINGS } from '../contracts/readings.js'
import type { S3ConnectionConfig } from '../common/s3-connection.js'
import { secretProblem } from './credentials.js'
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

export interface S3SinkConfig {
  readonly bucket: string
  /** without leading or trailing slash */
  readonly prefix: string
  readonly connection: S3ConnectionConfig
}

export interface GatewayConfig {
  readonly landingDir: string
  readonly stateDir: string
  readonly host: string
  /** MQTT over TCP; 0 picks a free port */
  readonly mqttPort: number
  /** HTTP API and MQTT over WebSocket (path /mqtt); 0 picks a free port */
  readonly httpPort: number
  readonly sink: 'file' | 'firehose' | 's3'
  readonly firehose?: FirehoseConfig
  /** the landing zone in a bucket (landingDir is then unused) */
  readonly s3?: S3SinkConfig
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
  /** how long an MQTT publish may wait for admission (rate limit, full outbox) before it is refused unacknowledged and its connection closed (ms) */
  readonly maxAckDelayMs: number
  /** largest MQTT packet before authentication, i.e. the CONNECT (bytes) */
  readonly maxPreAuthPacketBytes: number
  /** largest MQTT packet or WebSocket frame once authenticated (bytes); a larger one closes the connection unacknowledged */
  readonly maxPacketBytes: number
  /** an MQTT connection must send its CONNECT, and an HTTP request its headers, within this (ms) */
  readonly connectTimeoutMs: number
  /** an HTTP request must arrive whole (headers and body) within this (ms) */
  readonly requestTimeoutMs: number
  /** an idle HTTP keep-alive connection is closed after this (ms) */
  readonly keepAliveTimeoutMs: number
  /** open connections per listener (MQTT, HTTP) at most; more are refused at once */
  readonly maxConnections: number
  /** connections not yet authenticated (MQTT, WebSocket) or without a request yet (HTTP), at once, at most */
  readonly maxPendingConnections: number
  /** MQTT connections one device may hold at once */
  readonly maxConnectionsPerDevice: number
  /** on close, requests and commits in flight get this long before connections are cut (ms) */
  readonly shutdownGraceMs: number
  /** the state folder's database may use this many bytes: above it, landed data goes early (its retention shortens) and, if that is not enough, new readings are refused */
  readonly maxStateBytes: number
  /** the other gateways sharing this landing zone (HTTP base URLs): ledger look-ups ask them too */
  readonly peers: readonly string[]
  /** itemized rejection records per device: sustained per second, and the burst; the rest are counted */
  readonly rejectionRecords: { readonly perSecond: number, readonly burst: number }
  /** the privacy key (common/privacy-key.ts): needed once the state holds erasures, and to take erasures */
  readonly privacyKey?: Uint8Array
  /** TLS: the MQTT port speaks MQTT over TLS and the HTTP port HTTPS (wss at /mqtt); PEM files */
  readonly tls?: TlsConfig
  /** with TLS only: a plaintext MQTT listener on this port too (0 = any free port); absent, none */
  readonly mqttPlainPort?: number
  /** the revocation list (JSON lines, gateway/revocations.ts), followed without a restart; absent, none */
  readonly revocationList?: string
  /** the revocation list is looked at (stat) this often, besides the file-system watch (ms) */
  readonly revocationPollMs: number
  /** failed logins: at most one log line per reason per this long, with the count (ms) */
  readonly authFailureLogIntervalMs: number
}

export interface TlsConfig {
  /** the server's certificate (chain), PEM */
  readonly certFile: string
  readonly keyFile: string
  /** devices may authenticate by a client certificate this CA signed (identity: CN, kind: OU); others are refused at the handshake */
  readonly clientCaFile?: string
}

export type GatewayConfigInput = Partial<Omit<GatewayConfig, 'batch' | 'rateLimit' | 'rejectionRecords' | 'peers' | 'tls'>> & {
  tls?: TlsConfig
  peers?: readonly string[]
  landingDir: string
  stateDir: string
  batch?: Partial<BatchPolicy>
  rateLimit?: Partial<GatewayConfig['rateLimit']>
  rejectionRecords?: Partial<GatewayConfig['rejectionRecords']>
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
  maxOutboxAgeMs: 60_000,
  maxAckDelayMs: 5_000,
  maxPreAuthPacketBytes: 8 * 1024,
  maxPacketBytes: 1024 * 1024,
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 10_000,
  maxConnections: 10_000,
  maxPendingConnections: 1_000,
  maxConnectionsPerDevice: 8,
  shutdownGraceMs: 5_000,
  maxStateBytes: 8 * 1024 ** 3,
  rejectionRecords: { perSecond: 5, burst: 1_000 },
  revocationPollMs: 1_000,
  authFailureLogIntervalMs: 5_000
})

export function createGatewayConfig (input: GatewayConfigInput): GatewayConfig {
  // options left undefined take their defaults
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as GatewayConfigInput
  const config: GatewayConfig = {
    ...GATEWAY_DEFAULTS,
    sink: 'file',
    allowAnonymous: false,
    maxBatchReadings: MAX_BATCH_READINGS,
    ...given,
    landingDir: path.resolve(input.landingDir),
    stateDir: path.resolve(input.stateDir),
    secrets: Object.freeze([...(input.secrets ?? [])]),
    peers: Object.freeze([...(input.peers ?? [])]),
    batch: Object.freeze({ ...GATEWAY_DEFAULTS.batch, ...input.batch }),
    rateLimit: Object.freeze({ ...GATEWAY_DEFAULTS.rateLimit, ...input.rateLimit }),
    rejectionRecords: Object.freeze({ ...GATEWAY_DEFAULTS.rejectionRecords, ...input.rejectionRecords }),
    ...(input.tls === undefined ? {} : { tls: Object.freeze({ ...input.tls }) }),
    ...(input.revocationList === undefined ? {} : { revocationList: path.resolve(input.revocationList) })
  }
  const bad = (message: string): never => { throw new GatewayError('GW_ERR_CONFIG', message) }
  const nonEmpty = (f: string | undefined): boolean => typeof f === 'string' && f !== ''
  const positive = (name: string, n: number): void => { if (!Number.isFinite(n) || n <= 0) bad(`${name} must be a positive number (got ${n})`) }
  const port = (name: string, p: number): void => { if (!Number.isInteger(p) || p < 0 || p > 65535) bad(`${name} must be a port number from 0 to 65535 (got ${p})`) }
  port('--mqtt-port', config.mqttPort)
  port('--http-port', config.httpPort)
  if (config.mqttPlainPort !== undefined) {
    port('--mqtt-plain-port', config.mqttPlainPort)
    if (config.tls === undefined) bad('--mqtt-plain-port is for a gateway with TLS: without --tls-cert, --mqtt-port is plaintext already')
  }
  if (config.tls !== undefined && (!nonEmpty(config.tls.certFile) || !nonEmpty(config.tls.keyFile))) bad('TLS needs both --tls-cert FILE and --tls-key FILE')
  if (config.tls?.clientCaFile !== undefined && !nonEmpty(config.tls.clientCaFile)) bad('--tls-client-ca takes a file')
  positive('revocationPollMs', config.revocationPollMs)
  positive('authFailureLogIntervalMs', config.authFailureLogIntervalMs)
  positive('batch.maxRecords', config.batch.maxRecords)
  positive('batch.maxBytes', config.batch.maxBytes)
  positive('batch.maxAgeMs', config.batch.maxAgeMs)
  positive('rateLimit.readingsPerSecond', config.rateLimit.readingsPerSecond)
  positive('rateLimit.burst', config.rateLimit.burst)
  positive('maxPayloadBytes', config.maxPayloadBytes)
  for (const k of ['maxAckDelayMs', 'maxPreAuthPacketBytes', 'maxPacketBytes', 'connectTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'maxConnections', 'maxPendingConnections', 'maxConnectionsPerDevice', 'shutdownGraceMs', 'maxStateBytes'] as const) positive(k, config[k])
  positive('rejectionRecords.perSecond', config.rejectionRecords.perSecond)
  positive('rejectionRecords.burst', config.rejectionRecords.burst)
  // a payload the validator would refuse as oversized must still fit a packet, so that it is acknowledged and recorded
  for (const peer of config.peers) if (!/^https?:\/\/[^/]+/.test(peer)) bad(`--peer takes a gateway's HTTP URL such as http://10.0.0.2:8080 (got ${peer})`)
  if (config.maxPacketBytes < config.maxPayloadBytes) bad(`maxPacketBytes (${config.maxPacketBytes}) must be at least maxPayloadBytes (${config.maxPayloadBytes})`)
  if (config.commitWindowMs < 0) bad('commitWindowMs must be 0 or more')
  if (!['file', 'firehose', 's3'].includes(config.sink)) bad(`--sink must be file, firehose or s3 (got ${String(config.sink)})`)
  if (config.sink === 's3' && config.s3 === undefined) bad('the s3 sink needs --landing s3://BUCKET/PREFIX')
  if (config.sink === 'firehose' && config.firehose === undefined) bad('--sink firehose needs the firehose region and delivery streams')
  if (config.secrets.length === 0 && !config.allowAnonymous) {
    throw new GatewayError('GW_ERR_NO_SECRET',
      'no gateway secret: set STEDI_GATEWAY_SECRET (devices\' credentials derive from it), or pass --allow-anonymous for development')
  }
  for (const s of config.secrets) { const problem = secretProblem(s); if (problem !== undefined) bad(problem) }
  return Object.freeze(config)
}

// Builds the gateway from its parts: the outbox, a sink, the batcher, the ingest path, the MQTT
// broker (TCP, and WebSocket on the HTTP server at /mqtt) and the HTTP API. It reads no
// environment and handles no signals: the process owner (cli/commands/gateway.ts) does.
import net from 'node:net'
import { Aedes } from 'aedes'
import type { FastifyInstance } from 'fastify'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { DATASET_NAMES } from '../contracts/datasets.js'
import type { Logger } from '../common/logger.js'
import { createAuthenticate } from './broker/authenticate.js'
import { createAuthorizePublish, createAuthorizeSubscribe } from './broker/authorize.js'
import type { GatewayConfig } from './config.js'
import { GatewayError } from './errors.js'
import { buildHttp } from './http/app.js'
import { type Batcher, createBatcher } from './ingest/batcher.js'
import { Outbox } from './ingest/outbox.js'
import { createIngest } from './ingest/service.js'
import { createFileSink } from './ingest/sinks/file.js'
import { createFirehoseSink } from './ingest/sinks/firehose.js'
import type { Sink } from './ingest/sinks/sink.js'
import { type GatewayMetrics, createMetrics } from './metrics.js'

export interface Gateway {
  /** listens on the configured ports (0 = any free port) and resolves with the ports taken */
  start: () => Promise<{ mqttPort: number, httpPort: number }>
  /** stops accepting, lands everything acknowledged, closes; idempotent */
  close: () => Promise<void>
  readonly http: FastifyInstance
  readonly outbox: Outbox
  readonly batcher: Batcher
  readonly metrics: GatewayMetrics
}

export async function buildGateway (config: GatewayConfig, options: { logger: Logger, sink?: Sink }): Promise<Gateway> {
  const logger = options.logger.child({ component: 'gateway' })
  const metrics = createMetrics()
  const outbox = await Outbox.open(config.stateDir, { commitWindowMs: config.commitWindowMs, maxRecords: config.batch.maxRecords, maxBytes: config.batch.maxBytes })
  const sink = options.sink ?? (config.sink === 'firehose'
    ? createFirehoseSink({ config: config.firehose! })
    : await createFileSink(config.landingDir))
  const batcher = createBatcher({ outbox, sink, policy: config.batch, metrics, logger })
  const ingest = createIngest({ config, outbox, batcher, metrics })

  const broker = await Aedes.createBroker({
    authenticate: createAuthenticate(config.secrets, config.allowAnonymous),
    authorizePublish: createAuthorizePublish({ ingest, metrics, logger, allowAnonymous: config.allowAnonymous }),
    authorizeSubscribe: createAuthorizeSubscribe({ metrics, allowAnonymous: config.allowAnonymous })
  })
  broker.on('clientError', (client, err) => { logger.debug({ client: client.id, err: err.message }, 'client error') })
  const mqttServer = net.createServer((socket) => { broker.handle(socket) })
  let listening = false

  metrics.addGauge('stedi_outbox_depth', 'readings accepted and not yet claimed by a flush, by dataset',
    () => DATASET_NAMES.map((d) => [{ dataset: d }, outbox.pendingStats(d).records]))
  metrics.addGauge('stedi_outbox_oldest_age_seconds', 'age of the oldest reading waiting in the outbox, by dataset',
    () => DATASET_NAMES.map((d) => { const o = outbox.pendingStats(d).oldestMs; return [{ dataset: d }, o === null ? 0 : (Date.now() - o) / 1000] }))
  metrics.addGauge('stedi_connected_devices', 'MQTT connections open now', () => [[{}, broker.connectedClients]])
  // the standard process metrics, so that a load test (or Prometheus) sees memory and CPU
  metrics.addGauge('process_resident_memory_bytes', 'resident memory of the gateway process', () => [[{}, process.memoryUsage.rss()]])
  metrics.addGauge('process_cpu_seconds_total', 'CPU time of the gateway process (user + system)', () => {
    const u = process.cpuUsage()
    return [[{}, (u.user + u.system) / 1e6]]
  })

  const http = await buildHttp({
    ingest,
    outbox,
    metrics,
    logger,
    secrets: config.secrets,
    allowAnonymous: config.allowAnonymous,
    maxPayloadBytes: config.maxPayloadBytes,
    readiness: [
      { name: 'broker', check: async () => listening ? undefined : 'the MQTT listener is not up' },
      { name: 'landing', check: async () => await sink.check() },
      {
        name: 'outbox',
        check: async () => {
          const error = batcher.lastError()
          if (error !== undefined) return `flushes are failing: ${error}`
          const oldest = Math.min(...DATASET_NAMES.map((d) => outbox.pendingStats(d).oldestMs ?? Infinity))
          return Number.isFinite(oldest) && Date.now() - oldest > config.maxOutboxAgeMs
            ? `the oldest waiting reading is ${Math.round((Date.now() - oldest) / 1000)} s old` : undefined
        }
      }
    ]
  })
  const wss = new WebSocketServer({ server: http.server, path: '/mqtt' })
  wss.on('connection', (ws, req) => { broker.handle(createWebSocketStream(ws), req) })

  let janitor: NodeJS.Timeout | undefined
  let closing: Promise<void> | undefined

  return {
    http,
    outbox,
    batcher,
    metrics,
    start: async () => {
      await batcher.start()
      try {
        await new Promise<void>((resolve, reject) => {
          mqttServer.once('error', reject)
          mqttServer.listen(config.mqttPort, config.host, () => { mqttServer.off('error', reject); resolve() })
        })
        await http.listen({ port: config.httpPort, host: config.host })
      } catch (err) {
        throw new GatewayError('GW_ERR_LISTEN', `cannot listen on ${config.host} (MQTT ${config.mqttPort}, HTTP ${config.httpPort}): ${(err as Error).message}`, { cause: err })
      }
      listening = true
      janitor = setInterval(() => {
        outbox.prune(Date.now() - config.ledgerRetentionMs).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'ledger prune failed'))
      }, 3_600_000)
      janitor.unref()
      return { mqttPort: (mqttServer.address() as net.AddressInfo).port, httpPort: (http.server.address() as net.AddressInfo).port }
    },
    close: async () => {
      closing ??= (async () => {
        listening = false
        if (janitor !== undefined) clearInterval(janitor)
        // 1. stop taking: no new connections, existing clients disconnected, HTTP drained
        await new Promise<void>((resolve) => { mqttServer.close(() => resolve()); setImmediate(() => { if (!mqttServer.listening) resolve() }) })
        await new Promise<void>((resolve) => { broker.close(() => resolve()) })
        for (const ws of wss.clients) ws.terminate()
        wss.close()
        await http.close()
        // 2. what was acknowledged lands: commits in flight finish, then every waiting reading is flushed
        await outbox.stopAccepting()
        await batcher.stop()
        await batcher.drain().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'final flush failed; the readings stay in the outbox for the next start'))
        await sink.close()
        await outbox.release()
      })()
      await closing
    }
  }
}

// Builds the gateway from its parts: the state lock, the outbox, a sink, the batcher, the ingest
// path, the MQTT broker (TCP, and WebSocket on the HTTP server at /mqtt) and the HTTP API. It reads
// no environment and handles no signals: the process owner (cli/commands/gateway.ts) does.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import type { Duplex } from 'node:stream'
import { Aedes, type Client } from 'aedes'
import type { FastifyInstance } from 'fastify'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { DATASET_NAMES } from '../contracts/datasets.js'
import type { Logger } from '../common/logger.js'
import { createAuthFailures } from './auth-failures.js'
import { authenticatedClients, certificates, createAuthenticate, createConnectionsPerIdentity, createPreConnect, devices } from './broker/authenticate.js'
import { createAuthorizeForward, createAuthorizePublish, createAuthorizeSubscribe } from './broker/authorize.js'
import { keepReadingsOffTheBus } from './broker/ingest-only.js'
import { guardPackets } from './broker/packet-guard.js'
import type { GatewayConfig, TlsConfig } from './config.js'
import { type DeviceIdentity, certificateIdentity } from './credentials.js'
import { GatewayError } from './errors.js'
import { buildHttp } from './http/app.js'
import { type Batcher, createBatcher } from './ingest/batcher.js'
import { createIngest } from './ingest/service.js'
import { createFileSink } from './ingest/sinks/file.js'
import { createFirehoseSink } from './ingest/sinks/firehose.js'
import { createS3Sink } from './ingest/sinks/s3.js'
import { createS3Client, endpointText } from '../common/s3-connection.js'
import type { Sink } from './ingest/sinks/sink.js'
import { type GatewayMetrics, createMetrics } from './metrics.js'
import { Outbox } from './outbox/outbox.js'
import { REJECTION_LIMITS } from './outbox/rejection-budget.js'
import { acquireStateLock } from './outbox/state-lock.js'
import { NO_REVOCATIONS, type RevocationList, watchRevocations } from './revocations.js'
import type { Tombstone } from '../contracts/privacy.js'
import { applyErasure } from './privacy/apply.js'
import { type PrivacyGate, openPrivacyGate } from './privacy/gate.js'
import { createLogIds } from './privacy/log-id.js'
import type { ErasureReceipt } from './privacy/receipt.js'
import { type StateBudget, createStateBudget } from './state-budget.js'
import { createRateHistory } from './console/rate-history.js'
import { type ConsolePipeline, buildConsoleView } from './console/view.js'

export interface Gateway {
  /** listens on the configured ports (0 = any free port) and resolves with the ports taken; closes everything if it cannot */
  start: () => Promise<{ mqttPort: number, httpPort: number, mqttPlainPort?: number }>
  /** stops accepting, lands everything acknowledged, closes; idempotent */
  close: () => Promise<void>
  readonly http: FastifyInstance
  readonly outbox: Outbox
  readonly batcher: Batcher
  readonly metrics: GatewayMetrics
  /** the state folder's size within its budget */
  readonly state: StateBudget
  readonly privacy: PrivacyGate
  /** applies tombstones to the live state (POST /v1/privacy/erasures); one erasure at a time */
  erase: (tombstones: readonly Tombstone[]) => Promise<ErasureReceipt>
}

export interface GatewayOptions {
  logger: Logger
  sink?: Sink
  /** the lakehouse side of the operator console (`stedi start`); without it the console shows the gateway only */
  consolePipeline?: () => Promise<ConsolePipeline>
}

export async function buildGateway (config: GatewayConfig, options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger.child({ component: 'gateway' })
  const metrics = createMetrics()
  const startedAtMs = Date.now()
  // readings accepted per second over the last 15 minutes, for the operator console
  const rates = createRateHistory()
  // TLS files are read before anything is opened: a bad one is one line at start
  const tlsOptions = config.tls === undefined ? undefined : await loadTls(config.tls)
  const lock = await acquireStateLock(config.stateDir)
  let privacy: PrivacyGate
  try {
    privacy = await openPrivacyGate(config.stateDir, config.privacyKey)
  } catch (err) {
    await lock.release()
    throw err
  }
  let outbox: Outbox
  try {
    outbox = await Outbox.open(config.stateDir, {
      commitWindowMs: config.commitWindowMs,
      maxRecords: config.batch.maxRecords,
      maxBytes: config.batch.maxBytes,
      rejections: { ...REJECTION_LIMITS, perDevicePerSecond: config.rejectionRecords.perSecond, perDeviceBurst: config.rejectionRecords.burst },
      onIndexed: (o) => {
        // the ledger's decision is final: these are the counts that reconcile with what lands
        if (o.accepted > 0) { metrics.accepted.inc({ dataset: o.dataset }, o.accepted); rates.record(o.dataset, o.accepted) }
        if (o.duplicates > 0) metrics.deduplicated.inc({ dataset: o.dataset }, o.duplicates)
        if (o.conflicts > 0) metrics.seqConflicts.inc({ dataset: o.dataset }, o.conflicts)
        if (o.notItemized > 0) metrics.notItemized.inc({ dataset: o.dataset }, o.notItemized)
        for (const [reason, n] of Object.entries(o.rejected)) metrics.rejected.inc({ dataset: o.dataset, reason }, n)
      }
    })
  } catch (err) {
    await privacy.close()
    await lock.release()
    throw err
  }
  let sink: Sink
  try {
    sink = options.sink ?? await createSink(config, metrics)
  } catch (err) {
    await outbox.release()
    await privacy.close()
    await lock.release()
    throw err
  }
  const batcher = createBatcher({ outbox, sink, policy: config.batch, metrics, logger })
  const budget = createStateBudget({ outbox, maxBytes: config.maxStateBytes, retentionMs: config.ledgerRetentionMs, logger })
  const ingest = createIngest({ config, outbox, batcher, metrics, stateFull: budget.full, erasures: () => privacy.matcher() })
  // identities never reach the logs in clear: a keyed short hash names a device instead
  const logIds = createLogIds(config.privacyKey ?? config.secrets[0])
  let erasing: Promise<unknown> = Promise.resolve()
  const erase = async (tombstones: readonly Tombstone[]): Promise<ErasureReceipt> => {
    const run = erasing.then(async () => await applyErasure(privacy, outbox, tombstones))
    erasing = run.catch(() => undefined)
    const receipt = await run
    logger.info({ tombstones: receipt.tombstones, places: receipt.places, durationMs: receipt.durationMs }, 'erasure applied to the gateway state')
    return receipt
  }

  const perIdentity = createConnectionsPerIdentity(config.maxConnectionsPerDevice)
  const failures = createAuthFailures({ logger, counter: metrics.authFailures, intervalMs: config.authFailureLogIntervalMs, key: config.secrets[0] ?? randomBytes(32) })
  // a device whose credential is revoked loses its open connections too, at the list's next reload
  let disconnectRevoked = (): void => {}
  let revocations: RevocationList = NO_REVOCATIONS
  if (config.revocationList !== undefined) {
    try {
      revocations = await watchRevocations(config.revocationList, { logger, pollMs: config.revocationPollMs, onChange: () => { disconnectRevoked() } })
    } catch (err) {
      await outbox.release(); await sink.close(); await lock.release()
      throw err
    }
  }
  const broker = await Aedes.createBroker({
    connectTimeout: config.connectTimeoutMs,
    // unreleased QoS 2 messages are kept in memory, payload and all: a few per connection at most
    maxInflightInbound: 16,
    preConnect: createPreConnect(metrics),
    authenticate: createAuthenticate({
      secrets: config.secrets,
      allowAnonymous: config.allowAnonymous,
      perIdentity,
      onTooMany: () => { metrics.connectionsClosed.inc({ transport: 'mqtt', reason: 'too_many_connections' }) },
      revocations,
      failures
    }),
    authorizePublish: createAuthorizePublish({ ingest, metrics, logger, logIds, allowAnonymous: config.allowAnonymous, maxAckDelayMs: config.maxAckDelayMs }),
    authorizeSubscribe: createAuthorizeSubscribe({ metrics, allowAnonymous: config.allowAnonymous }),
    authorizeForward: createAuthorizeForward(config.allowAnonymous)
  })
  keepReadingsOffTheBus(broker)
  broker.on('clientError', (client, err) => { logger.debug({ device: logIds.ofClient(devices.get(client)), err: err.message }, 'client error') })
  disconnectRevoked = () => {
    let n = 0
    for (const client of liveClients) {
      const device = devices.get(client)
      if (device === undefined || revocations.valid(device)) continue
      metrics.connectionsClosed.inc({ transport: client.req === undefined ? 'mqtt' : 'ws', reason: 'revoked' })
      client.close()
      n++
    }
    if (n > 0) logger.info({ connections: n }, 'connections of revoked credentials closed')
  }
  // every connection goes through the packet guard; all are tracked so that close can cut them,
  // and those not yet authenticated are bounded, so that silent sockets cannot crowd devices out
  const connections = new Set<Duplex>()
  const liveClients = new Set<Client>()
  // a connection stops being pending at its CONNACK: the packet guard alone would only see it at
  // the device's next packet, and a quiet device would hold a pending slot for ever
  const onConnected = new WeakMap<Client, () => void>()
  broker.on('client', (client) => { onConnected.get(client)?.() })
  let pending = 0
  // HTTP sockets that have not yet sent a request's headers count as pending too
  let httpPending = 0
  const handle = (conn: Duplex, transport: 'mqtt' | 'ws', onAuthenticated?: () => void, req?: unknown, certificate?: DeviceIdentity): void => {
    if (pending + httpPending >= config.maxPendingConnections) {
      metrics.connectionsClosed.inc({ transport, reason: 'too_many_pending' })
      conn.destroy()
      return
    }
    pending++
    let counted = true
    const settle = (): void => { if (counted) { counted = false; pending-- } }
    connections.add(conn)
    let client: Client | undefined
    const authenticated = (): void => { settle(); onAuthenticated?.() }
    conn.once('close', () => {
      connections.delete(conn)
      if (client !== undefined) liveClients.delete(client)
      settle()
      const device = client === undefined ? undefined : devices.get(client)
      if (device !== undefined) perIdentity.release(device)
    })
    const guarded = guardPackets(conn, { preAuthBytes: config.maxPreAuthPacketBytes, packetBytes: config.maxPacketBytes },
      () => client !== undefined && authenticatedClients.has(client),
      {
        onViolation: (declared, limit, authenticated) => {
          metrics.connectionsClosed.inc({ transport, reason: authenticated ? 'packet_too_large' : 'preauth_packet_too_large' })
          logger.debug({ declared, limit, authenticated }, 'MQTT packet over its limit: connection closed')
        },
        onAuthenticated: authenticated
      })
    if (certificate !== undefined) certificates.set(guarded, certificate)
    client = broker.handle(guarded, req as never)
    liveClients.add(client)
    onConnected.set(client, authenticated)
  }
  // With a client CA, a client certificate is asked for but not required (devices with a password
  // have none). Node's TLS checks the chain during the handshake and reports it after; a
  // certificate the CA did not sign, or that names no device, is refused right there, before any
  // byte of MQTT or HTTP is read, as Node's own rejectUnauthorized does.
  const socketCertificates = new WeakMap<net.Socket, DeviceIdentity>()
  const admitCertificate = (socket: tls.TLSSocket, transport: 'mqtt' | 'http'): boolean => {
    if (config.tls?.clientCaFile === undefined) return true
    const cert = socket.getPeerCertificate()
    if (cert === null || Object.keys(cert).length === 0) return true
    const device = socket.authorized ? certificateIdentity(cert.subject) : undefined
    if (device === undefined) {
      failures.record('certificate_not_valid', transport, typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined)
      socket.destroy()
      return false
    }
    socketCertificates.set(socket, device)
    return true
  }
  // acknowledgements are small and latency is what devices wait on: no Nagle delay
  const mqttServer: net.Server = tlsOptions === undefined
    ? net.createServer({ noDelay: true }, (socket) => { handle(socket, 'mqtt') })
    : tls.createServer({ ...tlsOptions, noDelay: true, handshakeTimeout: config.connectTimeoutMs }, (socket) => {
      if (admitCertificate(socket, 'mqtt')) handle(socket, 'mqtt', undefined, undefined, socketCertificates.get(socket))
    })
  mqttServer.maxConnections = config.maxConnections
  // the tls module reports a failed handshake here (a plaintext client, a certificate refused by OpenSSL)
  mqttServer.on('tlsClientError', (err: Error) => { logger.debug({ err: err.message }, 'TLS handshake failed') })
  // with TLS, plaintext MQTT only when asked for, on its own port
  const plainServer = tlsOptions !== undefined && config.mqttPlainPort !== undefined ? net.createServer({ noDelay: true }, (socket) => { handle(socket, 'mqtt') }) : undefined
  if (plainServer !== undefined) plainServer.maxConnections = config.maxConnections
  let listening = false

  metrics.addGauge('stedi_outbox_depth', 'readings accepted and not yet claimed by a flush, by dataset',
    () => DATASET_NAMES.map((d) => [{ dataset: d }, outbox.pendingStats(d).records]))
  metrics.addGauge('stedi_outbox_oldest_age_seconds', 'age of the oldest reading waiting in the outbox, by dataset',
    () => DATASET_NAMES.map((d) => { const o = outbox.pendingStats(d).oldestMs; return [{ dataset: d }, o === null ? 0 : (Date.now() - o) / 1000] }))
  metrics.addGauge('stedi_connected_devices', 'MQTT connections open now (authenticated)', () => [[{}, broker.connectedClients]])
  metrics.addGauge('stedi_open_connections', 'MQTT and WebSocket connections open now, authenticated or not', () => [[{}, connections.size]])
  metrics.addGauge('stedi_state_used_bytes', 'bytes the gateway state uses (its budget: --max-state-bytes)', () => [[{}, budget.usedBytes()]])
  metrics.addGauge('stedi_state_retention_seconds', 'how long landed readings are kept now (shorter than configured when the state is over its budget)', () => [[{}, budget.retentionMs() / 1000]])
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
    timeouts: { connectMs: config.connectTimeoutMs, requestMs: config.requestTimeoutMs, keepAliveMs: config.keepAliveTimeoutMs },
    maxConnections: config.maxConnections,
    peers: config.peers,
    tls: tlsOptions,
    revocations,
    failures,
    certificateOf: (req) => socketCertificates.get(req.socket),
    privacy: { fingerprint: privacy.fingerprint, erase, matcher: () => privacy.matcher() },
    console: async () => await buildConsoleView({
      metrics,
      rates,
      outboxDepth: (d) => outbox.pendingStats(d).records,
      connected: () => {
        // counted by kind from the authenticated connections; identities stay out of the console
        const byKind: Record<string, number> = {}
        for (const client of liveClients) {
          const device = authenticatedClients.has(client) ? devices.get(client) : undefined
          if (device !== undefined) byKind[device.kind] = (byKind[device.kind] ?? 0) + 1
        }
        return { total: broker.connectedClients, byKind }
      },
      startedAtMs,
      pipeline: options.consolePipeline
    }),
    readiness: [
      { name: 'broker', check: async () => listening ? undefined : 'the MQTT listener is not up' },
      { name: 'landing', check: async () => await sink.check() },
      {
        name: 'outbox',
        check: async () => {
          const error = batcher.lastError() ?? outbox.indexFailure()
          if (error !== undefined) return `flushes are failing: ${error}`
          const oldest = Math.min(...DATASET_NAMES.map((d) => outbox.pendingStats(d).oldestMs ?? Infinity))
          return Number.isFinite(oldest) && Date.now() - oldest > config.maxOutboxAgeMs
            ? `the oldest waiting reading is ${Math.round((Date.now() - oldest) / 1000)} s old` : undefined
        }
      },
      { name: 'state', check: async () => budget.problem() }
    ]
  })
  // a WebSocket frame is buffered whole before the guard sees it: frames are held to the CONNECT's
  // limit until the client is authenticated, then to the packet limit (ws keeps the limit per
  // connection in its receiver; test/gateway/packet-limits.test.ts holds this to the ws version)
  const wss = new WebSocketServer({ server: http.server, path: '/mqtt', maxPayload: config.maxPreAuthPacketBytes })
  // the HTTP server's own errors (a port taken) reach start() through listen; ws re-emits them here
  wss.on('error', () => {})
  wss.on('connection', (ws, req) => {
    const raise = (): void => { (ws as unknown as { _receiver: { _maxPayload: number } })._receiver._maxPayload = config.maxPacketBytes }
    handle(createWebSocketStream(ws), 'ws', raise, req, socketCertificates.get(req.socket))
  })
  if (tlsOptions === undefined) http.server.on('connection', (socket: net.Socket) => { trackHttpPending(socket) })
  else {
    // over TLS the HTTP parser reads the TLS socket's handle directly: no 'data' event says that a
    // request came, the request does. A handshake in progress is bounded by --connect-timeout
    // (the handshake timeout) and --max-connections, not counted as pending.
    const firstRequest = new WeakMap<net.Socket, () => void>()
    http.server.on('secureConnection', (socket: tls.TLSSocket) => {
      if (admitCertificate(socket, 'http')) firstRequest.set(socket, trackHttpPending(socket, false))
    })
    http.server.on('request', (req: IncomingMessage) => { firstRequest.get(req.socket)?.() })
    http.server.on('upgrade', (req: IncomingMessage) => { firstRequest.get(req.socket)?.() })
    http.server.on('tlsClientError', (err: Error) => { logger.debug({ err: err.message }, 'TLS handshake failed') })
  }

  /** counts the socket as pending until its first request (its first bytes, unless `onData` is false: then call what it returns) */
  function trackHttpPending (socket: net.Socket, onData = true): () => void {
    if (pending + httpPending >= config.maxPendingConnections) {
      metrics.connectionsClosed.inc({ transport: 'http', reason: 'too_many_pending' })
      socket.destroy()
      return () => {}
    }
    httpPending++
    let counted = true
    const settle = (): void => { if (counted) { counted = false; httpPending-- } }
    socket.once('close', settle)
    // the first request's headers arrived: an ordinary client from now on (its timeouts still apply)
    if (onData) socket.once('data', () => { setImmediate(settle) })
    return settle
  }
  let closing: Promise<void> | undefined
  const close = async (): Promise<void> => {
    closing ??= (async () => {
      listening = false
      budget.stop()
      revocations.stop()
      // 1. stop taking: no new connections; in-flight requests and commits get a grace period,
      //    then every connection is cut (a client that never finishes its request cannot hold us)
      const grace = setTimeout(() => {
        http.server.closeAllConnections()
        for (const c of connections) c.destroy()
      }, config.shutdownGraceMs)
      await new Promise<void>((resolve) => { mqttServer.close(() => resolve()); setImmediate(() => { if (!mqttServer.listening) resolve() }) })
      if (plainServer !== undefined) await new Promise<void>((resolve) => { plainServer.close(() => resolve()); setImmediate(() => { if (!plainServer.listening) resolve() }) })
      await new Promise<void>((resolve) => { broker.close(() => resolve()) })
      for (const ws of wss.clients) ws.terminate()
      wss.close()
      for (const c of connections) c.destroy()
      await http.close()
      clearTimeout(grace)
      // 2. what was acknowledged lands: commits in flight finish, then every waiting reading is flushed
      await outbox.stopAccepting()
      await batcher.stop()
      await batcher.drain().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'final flush failed; the readings stay in the outbox for the next start'))
      await sink.close()
      await erasing
      await outbox.release()
      await privacy.close()
      await lock.release()
    })()
    await closing
  }

  return {
    http,
    outbox,
    batcher,
    metrics,
    state: budget,
    privacy,
    erase,
    start: async () => {
      try {
        await batcher.start()
        await new Promise<void>((resolve, reject) => {
          mqttServer.once('error', reject)
          mqttServer.listen(config.mqttPort, config.host, () => { mqttServer.off('error', reject); resolve() })
        })
        if (plainServer !== undefined) {
          await new Promise<void>((resolve, reject) => {
            plainServer.once('error', reject)
            plainServer.listen(config.mqttPlainPort, config.host, () => { plainServer.off('error', reject); resolve() })
          })
        }
        await http.listen({ port: config.httpPort, host: config.host })
      } catch (err) {
        // a gateway that cannot listen must not keep running, listening on nothing
        await close().catch(() => undefined)
        throw new GatewayError('GW_ERR_LISTEN', `cannot listen on ${config.host} (MQTT ${config.mqttPort}, HTTP ${config.httpPort}): ${(err as Error).message}`, { cause: err })
      }
      listening = true
      budget.start()
      const ports = { mqttPort: (mqttServer.address() as net.AddressInfo).port, httpPort: (http.server.address() as net.AddressInfo).port }
      await lock.describe({ mqtt: ports.mqttPort, http: ports.httpPort })
      return plainServer === undefined ? ports : { ...ports, mqttPlainPort: (plainServer.address() as net.AddressInfo).port }
    },
    close
  }
}

/** The TLS files, read and checked once (a key that does not fit its certificate fails here). */
async function loadTls (files: TlsConfig): Promise<tls.TlsOptions> {
  const read = async (flag: string, file: string): Promise<Buffer> => await fs.readFile(file).catch((err: unknown) => {
    throw new GatewayError('GW_ERR_TLS', `${flag} ${file}: ${(err as Error).message}`, { cause: err })
  })
  const options: tls.TlsOptions = {
    cert: await read('--tls-cert', files.certFile),
    key: await read('--tls-key', files.keyFile),
    ...(files.clientCaFile === undefined ? {} : { ca: await read('--tls-client-ca', files.clientCaFile), requestCert: true, rejectUnauthorized: false })
  }
  try {
    tls.createSecureContext(options)
  } catch (err) {
    throw new GatewayError('GW_ERR_TLS', `the TLS files are not a usable certificate and key (${files.certFile}, ${files.keyFile}${files.clientCaFile === undefined ? '' : `, ${files.clientCaFile}`}): ${(err as Error).message}`, { cause: err })
  }
  return options
}

/** The configured sink, checked once: a landing zone that cannot be written is one line at start, not a crash loop. */
async function createSink (config: GatewayConfig, metrics: GatewayMetrics): Promise<Sink> {
  switch (config.sink) {
    case 'firehose': return createFirehoseSink({ config: config.firehose! })
    case 'file': return await createFileSink(config.landingDir)
    case 's3': {
      const { bucket, prefix, connection } = config.s3!
      const sink = createS3Sink({
        client: createS3Client(connection),
        bucket,
        prefix,
        endpoint: endpointText(connection),
        events: {
          onObject: (dataset, bytes) => { metrics.s3Objects.inc({ dataset }); metrics.s3Bytes.inc({ dataset }, bytes) },
          onRetry: (dataset) => { metrics.s3Retries.inc({ dataset }) },
          onError: (dataset) => { metrics.s3Errors.inc({ dataset }) }
        }
      })
      await sink.verify().catch(async (err: unknown) => { await sink.close(); throw err })
      return sink
    }
  }
}

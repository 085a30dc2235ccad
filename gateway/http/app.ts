// The HTTP API (fastify): health, readiness, metrics, the OpenAPI description, customer records,
// readings from devices that cannot hold an MQTT connection, and the record ledger.
// It never listens: gateway/app.ts owns the server.
import http from 'node:http'
import https from 'node:https'
import swagger from '@fastify/swagger'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { DEVICE_KINDS, type DeviceKind } from '../../contracts/topics.js'
import type { Logger } from '../../common/logger.js'
import type { AuthFailureReason, AuthFailures } from '../auth-failures.js'
import { identify } from '../broker/authenticate.js'
import type { DeviceIdentity } from '../credentials.js'
import type { RevocationList } from '../revocations.js'
import type { Ingest } from '../ingest/service.js'
import { deviceKey, estimateReadings } from '../ingest/service.js'
import { createRateLimiter } from '../ingest/rate-limit.js'
import { datasetOfKind } from '../ingest/validate.js'
import type { Outbox } from '../outbox/outbox.js'
import type { GatewayMetrics } from '../metrics.js'
import { type LedgerAnswer, askPeers, mergeAnswers } from './ledger-peers.js'
import { customersBody, erasureBody, erasureResponse, readingBody, readingsResponse } from './schemas.js'
import type { Tombstone, TombstoneMatcher } from '../../contracts/privacy.js'
import { deviceErasedAt } from '../privacy/identity.js'
import { ERASURES_PATH } from '../privacy/client.js'
import type { ErasureReceipt } from '../privacy/receipt.js'
import { tombstonesProblem } from '../privacy/store.js'
import { registerConsole } from '../console/routes.js'
import type { ConsoleView } from '../console/view.js'

export interface ReadinessCheck { name: string, check: () => Promise<string | undefined> }

export interface HttpDeps {
  ingest: Ingest
  outbox: Outbox
  metrics: GatewayMetrics
  logger: Logger
  secrets: readonly string[]
  allowAnonymous: boolean
  maxPayloadBytes: number
  readiness: ReadinessCheck[]
  timeouts: { connectMs: number, requestMs: number, keepAliveMs: number }
  /** the other gateways of the site (their HTTP base URLs), asked by ledger look-ups */
  peers: readonly string[]
  maxConnections: number
  /** TLS: the server speaks HTTPS (node tls options: key, cert, ca, requestCert) */
  tls?: https.ServerOptions
  revocations: Pick<RevocationList, 'valid'>
  failures: AuthFailures
  /** the device named by the request's verified client certificate (TLS with a client CA) */
  certificateOf: (req: http.IncomingMessage) => DeviceIdentity | undefined
  /** erasures on the live state: the configured key's fingerprint (undefined: no key) and the way in */
  privacy: { fingerprint: string | undefined, erase: (tombstones: readonly Tombstone[]) => Promise<ErasureReceipt>, matcher: () => TombstoneMatcher }
  /** the operator console's numbers (GET / and GET /v1/console) */
  console?: () => Promise<ConsoleView>
}

const noValidation = (): (() => boolean) => () => true

/** ledger look-ups per device: sustained per second, and the burst */
const LOOKUPS_PER_SECOND = 10
const LOOKUP_BURST = 100

export async function buildHttp (deps: HttpDeps): Promise<FastifyInstance> {
  // per-request logs would be one line per reading: only warnings and errors
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }, { level: 'warn' }) as unknown as FastifyBaseLogger,
    bodyLimit: deps.maxPayloadBytes,
    // a client that trickles its request (slow headers, slow body) or idles holds a socket: bounded.
    // Node checks these timeouts on an interval (30 s by default): check often enough to mean them
    serverFactory: (handler) => {
      const options = {
        requestTimeout: deps.timeouts.requestMs,
        headersTimeout: Math.min(deps.timeouts.connectMs, deps.timeouts.requestMs),
        keepAliveTimeout: deps.timeouts.keepAliveMs,
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(deps.timeouts.requestMs / 4)))
      }
      return deps.tls === undefined ? http.createServer(options, handler) : https.createServer({ ...options, handshakeTimeout: deps.timeouts.connectMs, ...deps.tls }, handler)
    },
    connectionTimeout: deps.timeouts.requestMs + deps.timeouts.keepAliveMs,
    // gateway/app.ts closes what is left after its grace period
    forceCloseConnections: false
  })
  app.server.maxConnections = deps.maxConnections
  // `Expect: 100-continue` asks leave to send the body: given only to a request with a credential
  app.server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const caller = deps.allowAnonymous ? undefined : callerOf(req, deps)
    if (caller !== undefined && 'reason' in caller) {
      res.writeHead(401, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ error: refusal(caller.reason, 'a credential is required (Authorization: Bearer ...)') }))
      return
    }
    res.writeContinue()
    app.server.emit('request', req, res)
  })
  // a request that needs a credential and has none is answered before its body is read, and its
  // connection closed: an unauthenticated client cannot make the gateway hold a slow body
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'POST') return
    const caller = callerOf(req.raw, deps)
    // erasure is a service's act, whatever --allow-anonymous says: a device may not make one
    if (req.url.startsWith(ERASURES_PATH)) {
      if ('device' in caller && caller.device.kind === 'service') return
      void reply.header('connection', 'close')
      return await reply.code('reason' in caller ? 401 : 403).send({ error: 'reason' in caller && caller.reason !== 'credential_required' ? refusal(caller.reason, '') : 'a service credential is required to erase (stedi devices token NAME --kind service)' })
    }
    if (deps.allowAnonymous) return
    const needsService = req.url.startsWith('/v1/customers')
    if ('reason' in caller || (needsService && caller.device.kind !== 'service')) {
      void reply.header('connection', 'close')
      const required = needsService ? 'a service credential is required (stedi devices token NAME --kind service)' : 'a device credential is required (Authorization: Bearer ...)'
      return await reply.code(401).send({ error: 'reason' in caller ? refusal(caller.reason, required) : required })
    }
  })
  await app.register(swagger, {
    openapi: {
      info: { title: 'STEDI gateway', version: '1', description: 'Device and customer ingress to the STEDI landing zone' },
      components: { securitySchemes: { device: { type: 'http', scheme: 'bearer', description: 'a device credential (stedi devices token)' } } }
    }
  })
  // bodies reach the ingest validators as text: a malformed body is a refusal to record, not a parser error
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => { done(null, body) })

  app.get('/healthz', { schema: { description: 'the process is alive' } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { description: '200 when the broker listens, landing is writable and the outbox drains; else 503 naming the failing check' } },
    async (_req, reply) => {
      const checks: Record<string, string> = {}
      let failing: string | undefined
      for (const c of deps.readiness) {
        const problem = await c.check().catch((err: unknown) => (err as Error).message)
        checks[c.name] = problem ?? 'ok'
        failing ??= problem === undefined ? undefined : c.name
      }
      return await reply.code(failing === undefined ? 200 : 503).send({ status: failing === undefined ? 'ready' : 'not_ready', failing: failing ?? null, checks })
    })

  app.get('/metrics', { schema: { description: 'Prometheus text format' } }, async (_req, reply) =>
    await reply.type('text/plain; version=0.0.4').send(deps.metrics.render()))

  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger())

  if (deps.console !== undefined) {
    registerConsole(app, {
      view: deps.console,
      caller: (req, token) => {
        if (token === undefined || req.headers.authorization !== undefined) return authorize(req, deps)
        let found = identify(deps.secrets, identityOfToken(token), token, undefined)
        if ('device' in found && !deps.revocations.valid(found.device)) found = { reason: 'revoked', claimed: found.device.identity }
        if ('reason' in found) { deps.failures.record(found.reason, 'http', found.claimed); return undefined }
        return found.device
      }
    })
  }

  app.post('/v1/customers', {
    schema: { description: 'one customer record or an array (the seed\'s fields); 202 once durable', body: customersBody, security: [{ device: [] }] },
    validatorCompiler: noValidation
  }, async (req, reply) => {
    const caller = authorize(req, deps)
    if (!deps.allowAnonymous && caller?.kind !== 'service') {
      return await reply.code(401).send({ error: 'a service credential is required (stedi devices token NAME --kind service)' })
    }
    const parsed = parseJson(req.body)
    if (!parsed.ok) {
      deps.metrics.received.inc({ dataset: 'customer', transport: 'http' })
      deps.metrics.rejected.inc({ dataset: 'customer', reason: 'invalid_json' })
      return await reply.code(400).send({ error: 'invalid_json', problems: [{ index: null, field: null, reason: 'invalid_json', detail: parsed.error }] })
    }
    const records = Array.isArray(parsed.value) ? parsed.value : [parsed.value]
    if (records.length === 0 || records.length > 1000) {
      deps.metrics.received.inc({ dataset: 'customer', transport: 'http' })
      deps.metrics.rejected.inc({ dataset: 'customer', reason: 'batch_too_large' })
      return await reply.code(400).send({ error: 'invalid_records', problems: [{ index: null, field: null, reason: 'not_a_reading', detail: 'send 1 to 1000 records' }] })
    }
    if (deps.ingest.overloaded()) return await tooBusy(reply, 1000)
    const result = await deps.ingest.customers(records)
    if ('problems' in result) return await reply.code(400).send({ error: 'invalid_records', problems: result.problems })
    const { erased, ...counts } = result
    return await reply.code(202).send(erased > 0 ? { ...counts, erased } : counts)
  })

  app.post(ERASURES_PATH, {
    schema: {
      description: 'erases customers from this gateway\'s live state: tombstones (keyed hashes, never emails) are put in force, then every covered record is removed from the outbox and the ledger and the state files compacted; answers with the receipt',
      body: erasureBody,
      response: erasureResponse,
      security: [{ device: [] }]
    },
    validatorCompiler: noValidation
  }, async (req, reply) => {
    const parsed = parseJson(req.body)
    if (!parsed.ok) return await reply.code(400).send({ error: 'invalid_json', message: parsed.error })
    const body = parsed.value as { keyFingerprint?: unknown, tombstones?: unknown }
    if (typeof body !== 'object' || body === null || typeof body.keyFingerprint !== 'string') return await reply.code(400).send({ error: 'invalid_request', message: 'send {"keyFingerprint": "...", "tombstones": [{"kind", "hash", "erasedAt"}]}' })
    const problem = tombstonesProblem(body.tombstones)
    if (problem !== undefined) return await reply.code(400).send({ error: 'invalid_request', message: problem })
    if (deps.privacy.fingerprint === undefined) {
      return await reply.code(409).send({ error: 'no_privacy_key', message: 'this gateway runs without a privacy key: start it with STEDI_PRIVACY_KEY or STEDI_PRIVACY_KEY_FILE set to the platform\'s key' })
    }
    if (body.keyFingerprint !== deps.privacy.fingerprint) {
      return await reply.code(409).send({ error: 'key_mismatch', message: `the tombstones were made with privacy key ${body.keyFingerprint}, this gateway runs with ${deps.privacy.fingerprint}: hash with the same key` })
    }
    return await reply.code(200).send(await deps.privacy.erase(body.tombstones as Tombstone[]))
  })

  for (const kind of DEVICE_KINDS) {
    app.post(`/v1/readings/${kind}`, {
      schema: {
        description: `${kind} readings: one reading or {seq, readings}; the device comes from the bearer credential`,
        body: kind === 'step-trainer' ? readingBody.step : readingBody.accel,
        security: [{ device: [] }],
        response: readingsResponse
      },
      validatorCompiler: noValidation
    }, async (req, reply) => {
      const device = authorize(req, deps)
      if (device === undefined) return await reply.code(401).send({ error: 'a device credential is required (Authorization: Bearer ...)' })
      if (device.kind !== kind) return await reply.code(403).send({ error: `this credential belongs to a ${device.kind}, not a ${kind}` })
      const body = typeof req.body === 'string' ? req.body : ''
      const estimate = estimateReadings(body)
      const admission = deps.ingest.admit(kind, device.identity, estimate)
      if (!admission.ok && admission.reason !== 'never_fits') {
        // not taken, so never 2xx: the device sends it again after Retry-After; the ledger keeps the refusal
        await deps.ingest.refuse(kind, device.identity, body, 'http', admission.reason)
        if (admission.reason === 'overloaded') return await tooBusy(reply, admission.retryAfterMs)
        void reply.header('retry-after', Math.ceil(admission.retryAfterMs / 1000))
        return await reply.code(429).send({ error: 'rate_limited', retryAfterMs: admission.retryAfterMs })
      }
      const outcome = await deps.ingest.device(kind, device.identity, body, 'http', { neverFits: !admission.ok, reserved: admission.ok ? estimate : 0 })
      const rejected = outcome.rejected.map((r) => ({ index: r.index, reason: r.reason, detail: r.detail }))
      if (outcome.accepted + outcome.duplicates === 0 && rejected.length > 0) return await reply.code(400).send({ error: 'invalid_readings', rejected })
      // `erased` only when a tombstone covered some: the answer of every other device is as it was
      return await reply.code(202).send({ seq: outcome.seq, accepted: outcome.accepted, duplicates: outcome.duplicates, ...(outcome.erased > 0 ? { erased: outcome.erased } : {}), rejected })
    })
  }

  const lookups = createRateLimiter(LOOKUPS_PER_SECOND, LOOKUP_BURST)
  app.get('/v1/records', {
    schema: {
      description: 'what became of a reading: landed (in which file), accepted and waiting, deduplicated, or rejected and why',
      querystring: {
        type: 'object',
        required: ['kind', 'device'],
        properties: { kind: { type: 'string', enum: [...DEVICE_KINDS] }, device: { type: 'string' }, seq: { type: 'integer' }, timestamp: { type: 'integer' }, local: { type: 'boolean', description: 'this gateway\'s ledger only (peers ask each other with it)' } }
      },
      security: [{ device: [] }]
    }
  }, async (req: FastifyRequest<{ Querystring: { kind: DeviceKind, device: string, seq?: number, timestamp?: number, local?: boolean } }>, reply) => {
    const { kind, device, seq, timestamp, local } = req.query
    const caller = authorize(req, deps)
    if (!deps.allowAnonymous && (caller === undefined || caller.kind !== kind || caller.identity !== device)) {
      void reply.header('connection', 'close')
      const why = callerOf(req.raw, deps)
      return await reply.code(401).send({ error: 'reason' in why && why.reason !== 'credential_required' ? refusal(why.reason, '') : 'the credential of that device is required' })
    }
    if ((seq === undefined) === (timestamp === undefined)) return await reply.code(400).send({ error: 'give exactly one of seq or timestamp' })
    if (!Number.isSafeInteger(seq ?? timestamp)) return await reply.code(400).send({ error: 'seq and timestamp are whole numbers' })
    // a look-up costs the gateway more than a reading: each device has a small budget of them
    const wait = lookups.reserve(deviceKey(kind, device), 1)
    if (wait > 0) {
      void reply.header('retry-after', Math.ceil(wait / 1000))
      return await reply.code(429).send({ error: 'rate_limited', retryAfterMs: wait })
    }
    const found = await deps.outbox.lookup(datasetOfKind(kind), deviceKey(kind, device), seq !== undefined ? { seq } : { timestamp: timestamp! }) as LedgerAnswer
    // what a tombstone covers was acknowledged and kept nowhere: the answer says so, with the time it covers
    const erasedAt = deviceErasedAt(deps.privacy.matcher(), deviceKey(kind, device))
    const own = erasedAt !== undefined && (timestamp === undefined || timestamp <= erasedAt)
      ? { ...found, erased: { through: new Date(erasedAt).toISOString(), detail: 'this device\'s readings dated at or before this time were erased at its owner\'s request: acknowledged, never kept' } } as LedgerAnswer
      : found
    if (local === true || deps.peers.length === 0) return own
    const query = new URLSearchParams({ kind, device, ...(seq !== undefined ? { seq: String(seq) } : { timestamp: String(timestamp) }) })
    return mergeAnswers(own, deps.outbox.gatewayId, await askPeers(deps.peers, `/v1/records?${query.toString()}`, req.headers.authorization))
  })

  app.setErrorHandler(async (err: Error & { statusCode?: number, code?: string }, req, reply) => {
    // stopping: nothing was acknowledged, the client sends it again (elsewhere, or after the restart)
    if (err.code === 'GW_ERR_CLOSED') return await tooBusy(reply, 1000)
    const status = err.statusCode ?? 500
    // a body refused before its handler (too large, not JSON) is still a refusal to count
    const dataset = datasetOfUrl(req.url)
    if (dataset !== undefined && (status === 413 || status === 415)) {
      deps.metrics.received.inc({ dataset, transport: 'http' })
      deps.metrics.rejected.inc({ dataset, reason: status === 413 ? 'oversized' : 'not_a_reading' })
    }
    if (status >= 500) req.log.error({ err: err.message }, 'request failed')
    return await reply.code(status).send({ error: err.code ?? 'internal_error', message: status >= 500 ? 'internal error' : err.message })
  })
  return app
}

function datasetOfUrl (url: string): 'customer' | 'accelerometer' | 'step_trainer' | undefined {
  if (url.startsWith('/v1/customers')) return 'customer'
  if (url.startsWith('/v1/readings/accelerometer')) return 'accelerometer'
  if (url.startsWith('/v1/readings/step-trainer')) return 'step_trainer'
  return undefined
}

function parseJson (body: unknown): { ok: true, value: unknown } | { ok: false, error: string } {
  if (typeof body !== 'string') return { ok: false, error: 'send Content-Type: application/json' }
  try { return { ok: true, value: JSON.parse(body) } } catch (err) { return { ok: false, error: (err as Error).message } }
}

type Caller = { device: DeviceIdentity } | { reason: AuthFailureReason }
const callers = new WeakMap<http.IncomingMessage, Caller>()

/** Who sent the request (a bearer credential, or a client certificate): decided, and a failure counted, once per request. */
function callerOf (req: http.IncomingMessage, deps: HttpDeps): Caller {
  let caller = callers.get(req)
  if (caller !== undefined) return caller
  const header = req.headers.authorization
  const token = header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length).trim() : undefined
  const certificate = deps.certificateOf(req)
  let found = token === undefined && header !== undefined
    ? { reason: 'credential_not_valid' as const, claimed: undefined }
    // a bearer token says who it is: the username of the MQTT CONNECT is its own identity
    : identify(deps.secrets, token === undefined ? undefined : identityOfToken(token), token, certificate)
  if ('device' in found && !deps.revocations.valid(found.device)) found = { reason: 'revoked', claimed: found.device.identity }
  if ('reason' in found) deps.failures.record(found.reason, 'http', found.claimed)
  caller = 'device' in found ? { device: found.device } : { reason: found.reason }
  callers.set(req, caller)
  return caller
}

function identityOfToken (token: string): string | undefined {
  const parts = token.split('.')
  return parts.length >= 4 ? Buffer.from(parts[2], 'base64url').toString('utf8') : undefined
}

/** The 401 message: a missing credential is required, a wrong one is not valid. */
function refusal (reason: AuthFailureReason, required: string): string {
  return reason === 'credential_required' ? required : reason === 'revoked' ? 'credential not valid (revoked)' : 'credential not valid'
}

function authorize (req: FastifyRequest, deps: HttpDeps): DeviceIdentity | undefined {
  const caller = callerOf(req.raw, deps)
  return 'device' in caller ? caller.device : undefined
}

async function tooBusy (reply: FastifyReply, retryAfterMs: number): Promise<FastifyReply> {
  void reply.header('retry-after', Math.ceil(retryAfterMs / 1000))
  return await reply.code(503).send({ error: 'overloaded', retryAfterMs })
}

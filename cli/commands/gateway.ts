import path from 'node:path'
import { createLogger } from '../../common/logger.js'
import { loadPrivacyKey } from '../../common/privacy-key.js'
import { identityProblem } from '../../contracts/topics.js'
import { buildGateway } from '../../gateway/app.js'
import { type GatewayConfigInput, GATEWAY_DEFAULTS, createGatewayConfig } from '../../gateway/config.js'
import { CREDENTIAL_KINDS, issueCredential } from '../../gateway/credentials.js'
import { revokeDevice } from '../../gateway/revocations.js'
import { type S3ConnectionConfig, s3ConnectionFromEnv } from '../../common/s3-connection.js'
import { LocationError, type StorageLocation, parseLocation } from '../../common/storage-location.js'
import { type Command, UsageError, durationFlag, logLevelFromEnv, oneOf, parse, wholeNumber } from '../args.js'
import { findGatewaySecret, secretsFromEnv } from '../gateway-secret.js'

export { secretsFromEnv }

/** The revocation list's file under a --var folder (`stedi start`, `stedi devices revoke`). */
export const REVOCATION_LIST_NAME = 'revoked-devices.jsonl'

/** The transport-security flags, shared by `stedi gateway` and `stedi start`. */
export const TLS_OPTIONS = {
  'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-client-ca': { type: 'string' }, 'mqtt-plain-port': { type: 'string' }, 'revocation-list': { type: 'string' }
} as const

export const TLS_USAGE = `  --tls-cert FILE           TLS: the MQTT port speaks MQTT over TLS (mqtts) and the HTTP port HTTPS (wss at /mqtt);
                            the server certificate (PEM, with its chain)
  --tls-key FILE            its private key (PEM)
  --tls-client-ca FILE      devices may authenticate by a client certificate this CA signed, instead of
                            a password: identity from its CN, kind from its OU (step-trainer, accelerometer,
                            service); a certificate from another CA is refused at the handshake
  --mqtt-plain-port N       with TLS, plaintext MQTT too, on this port (default: none)
  --revocation-list FILE    revoked credential generations (stedi devices revoke), reloaded within a
                            second or two of a change; a revoked device is disconnected`

/** The config input of the TLS flags (undefined fields are left to the defaults). */
export function tlsInput (values: { 'tls-cert'?: string, 'tls-key'?: string, 'tls-client-ca'?: string, 'mqtt-plain-port'?: string, 'revocation-list'?: string }, defaultList: string): Pick<GatewayConfigInput, 'tls' | 'mqttPlainPort' | 'revocationList'> {
  const { 'tls-cert': certFile, 'tls-key': keyFile, 'tls-client-ca': clientCaFile } = values
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert and --tls-key go together')
  if (clientCaFile !== undefined && certFile === undefined) throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key')
  return {
    tls: certFile === undefined ? undefined : { certFile, keyFile: keyFile!, ...(clientCaFile === undefined ? {} : { clientCaFile }) },
    mqttPlainPort: wholeNumber('--mqtt-plain-port', values['mqtt-plain-port']),
    revocationList: values['revocation-list'] ?? defaultList
  }
}

/** The listeners of the ready line: mqtts:// and https:// with TLS. */
export function listenerUrls (host: string, tls: boolean, ports: { mqttPort: number, httpPort: number, mqttPlainPort?: number }): string {
  const s = tls ? 's' : ''
  return [`mqtt${s}://${host}:${ports.mqttPort}`, ...(ports.mqttPlainPort === undefined ? [] : [`mqtt://${host}:${ports.mqttPlainPort}`]),
    `ws${s}://${host}:${ports.httpPort}/mqtt`, `http${s}://${host}:${ports.httpPort}`].join(' ')
}

const duration = durationFlag

export const gateway: Command = {
  name: 'gateway',
  usage: `stedi gateway --landing DIR --state DIR [options]

Accepts readings over MQTT (TCP, and WebSocket at /mqtt on the HTTP port) and HTTP, validates,
deduplicates and acknowledges them once durable in the outbox (DIR/gateway.sqlite), and writes
landing files in the pipeline's layout. Prints one line when ready; logs NDJSON on stderr.
SIGTERM or SIGINT: stop accepting, land everything acknowledged, exit 0.

Device credentials derive from STEDI_GATEWAY_SECRET (STEDI_GATEWAY_SECRET_PREVIOUS is also
accepted during a rotation); \`stedi devices token\` prints one.
The privacy key (STEDI_PRIVACY_KEY, else the file STEDI_PRIVACY_KEY_FILE, else var/privacy-key)
is needed once the state holds erasures (a missing or other key is refused, GW_ERR_PRIVACY_KEY),
and to take erasures at POST /v1/privacy/erasures.

  --landing DIR|s3://BUCKET/PREFIX  landing root (default var/landing); an S3 location lands each
                            file as an object (credentials, region and endpoint the AWS way:
                            AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3)
  --s3-endpoint URL         an S3-compatible server (path-style addressing), instead of AWS_ENDPOINT_URL_S3
  --state DIR               outbox and ledger (default var/gateway)
  --host HOST               address to listen on (default ${GATEWAY_DEFAULTS.host})
  --mqtt-port N             MQTT over TCP (default ${GATEWAY_DEFAULTS.mqttPort}; 0 = any free port)
  --http-port N             HTTP API and MQTT over WebSocket (default ${GATEWAY_DEFAULTS.httpPort}; 0 = any)
  --sink file|firehose      where batches go (default file)
  --firehose-region R       AWS region of the delivery streams
  --firehose-endpoint URL   Firehose endpoint override (a VPC endpoint, or a local test double)
  --firehose-stream-prefix P  delivery streams P + customer|accelerometer|step_trainer (default stedi-)
  --max-batch-records N     records per landing file (default ${GATEWAY_DEFAULTS.batch.maxRecords})
  --max-batch-bytes N       bytes per landing file (default ${GATEWAY_DEFAULTS.batch.maxBytes})
  --max-batch-age DURATION  how long a reading may wait for its file (default ${GATEWAY_DEFAULTS.batch.maxAgeMs}ms)
  --rate-limit N            readings per second per device (default ${GATEWAY_DEFAULTS.rateLimit.readingsPerSecond}; burst 10x)
  --max-ack-delay DURATION  how long a publish may wait for room before it is refused unacknowledged
                            and its connection closed (default ${GATEWAY_DEFAULTS.maxAckDelayMs}ms)
  --max-payload-bytes N     largest reading payload or HTTP body (default ${GATEWAY_DEFAULTS.maxPayloadBytes})
  --max-packet-bytes N      largest MQTT packet or WebSocket frame; larger closes the connection (default ${GATEWAY_DEFAULTS.maxPacketBytes})
  --max-preauth-packet-bytes N  largest MQTT packet before authentication, the CONNECT (default ${GATEWAY_DEFAULTS.maxPreAuthPacketBytes})
  --connect-timeout DURATION  MQTT CONNECT and HTTP headers must arrive within (default ${GATEWAY_DEFAULTS.connectTimeoutMs}ms)
  --request-timeout DURATION  a whole HTTP request must arrive within (default ${GATEWAY_DEFAULTS.requestTimeoutMs}ms)
  --max-connections N       open connections per listener (default ${GATEWAY_DEFAULTS.maxConnections})
  --max-pending-connections N  connections not yet authenticated (or without an HTTP request yet), at once (default ${GATEWAY_DEFAULTS.maxPendingConnections})
  --max-connections-per-device N  MQTT connections one device may hold (default ${GATEWAY_DEFAULTS.maxConnectionsPerDevice})
  --shutdown-grace DURATION on SIGTERM, what is in flight gets this long before connections are cut (default ${GATEWAY_DEFAULTS.shutdownGraceMs}ms)
  --max-state-bytes N       the state folder's budget (default ${GATEWAY_DEFAULTS.maxStateBytes}): above it landed data goes early
  --rejection-records N     refusals itemized in the ledger per device per second (default ${GATEWAY_DEFAULTS.rejectionRecords.perSecond},
                            burst 200x); the rest are counted
  --peer URL                another gateway of the site (its HTTP URL; repeat for each): a ledger
                            look-up asks them too, so any gateway behind a balancer answers for all
  --allow-anonymous         DEVELOPMENT ONLY: any client may connect and publish as any device
${TLS_USAGE} (default var/${REVOCATION_LIST_NAME}; a missing file revokes nothing)

Exit codes: 0 stopped cleanly, 1 failed (a port taken, a bad option), 3 another gateway holds --state.`,
  run: async (argv) => {
    const { values } = parse(argv, {
      landing: { type: 'string' }, state: { type: 'string' }, host: { type: 'string' },
      'mqtt-port': { type: 'string' }, 'http-port': { type: 'string' }, sink: { type: 'string' }, 's3-endpoint': { type: 'string' },
      'firehose-region': { type: 'string' }, 'firehose-endpoint': { type: 'string' }, 'firehose-stream-prefix': { type: 'string' },
      'max-batch-records': { type: 'string' }, 'max-batch-bytes': { type: 'string' }, 'max-batch-age': { type: 'string' },
      'rate-limit': { type: 'string' }, 'allow-anonymous': { type: 'boolean' },
      'max-ack-delay': { type: 'string' }, 'max-payload-bytes': { type: 'string' }, 'max-packet-bytes': { type: 'string' },
      'connect-timeout': { type: 'string' }, 'request-timeout': { type: 'string' }, 'max-connections': { type: 'string' },
      'shutdown-grace': { type: 'string' }, 'max-state-bytes': { type: 'string' }, peer: { type: 'string', multiple: true },
      'max-preauth-packet-bytes': { type: 'string' }, 'rejection-records': { type: 'string' },
      'max-pending-connections': { type: 'string' }, 'max-connections-per-device': { type: 'string' },
      ...TLS_OPTIONS
    })
    if (values.help === true) { console.log(gateway.usage); return 0 }
    let landing: StorageLocation
    let connection: S3ConnectionConfig | undefined
    try {
      landing = parseLocation(values.landing ?? 'var/landing', '--landing')
      if (landing.kind === 's3') connection = s3ConnectionFromEnv(process.env, values['s3-endpoint'])
    } catch (err) {
      if (err instanceof LocationError) throw new UsageError(err.message)
      throw err
    }
    const sink = landing.kind === 's3' ? 's3' : oneOf('--sink', values.sink, ['file', 'firehose'] as const) ?? 'file'
    if (landing.kind === 's3' && values.sink !== undefined && values.sink !== 's3') throw new UsageError('--landing s3://... lands through the s3 sink: leave --sink out')
    const maxAgeMs = duration('--max-batch-age', values['max-batch-age'])
    const rate = wholeNumber('--rate-limit', values['rate-limit'])
    const rejectionRecords = wholeNumber('--rejection-records', values['rejection-records'])
    const prefix = values['firehose-stream-prefix'] ?? 'stedi-'
    const input: GatewayConfigInput = {
      landingDir: landing.kind === 'local' ? landing.path : 'var/landing',
      s3: landing.kind === 's3' ? { bucket: landing.bucket, prefix: landing.prefix, connection: connection! } : undefined,
      stateDir: values.state ?? 'var/gateway',
      host: values.host,
      mqttPort: wholeNumber('--mqtt-port', values['mqtt-port']),
      httpPort: wholeNumber('--http-port', values['http-port']),
      sink,
      firehose: sink === 'firehose'
        ? {
            region: values['firehose-region'] ?? 'us-east-1',
            endpoint: values['firehose-endpoint'],
            streams: { customer: `${prefix}customer`, accelerometer: `${prefix}accelerometer`, step_trainer: `${prefix}step_trainer` },
            maxAttempts: 5
          }
        : undefined,
      secrets: secretsFromEnv(),
      allowAnonymous: values['allow-anonymous'] === true,
      batch: {
        maxRecords: wholeNumber('--max-batch-records', values['max-batch-records']),
        maxBytes: wholeNumber('--max-batch-bytes', values['max-batch-bytes']),
        maxAgeMs
      },
      rateLimit: rate === undefined ? undefined : { readingsPerSecond: rate, burst: rate * 10 },
      maxAckDelayMs: duration('--max-ack-delay', values['max-ack-delay']),
      maxPayloadBytes: wholeNumber('--max-payload-bytes', values['max-payload-bytes']),
      maxPacketBytes: wholeNumber('--max-packet-bytes', values['max-packet-bytes']),
      connectTimeoutMs: duration('--connect-timeout', values['connect-timeout']),
      requestTimeoutMs: duration('--request-timeout', values['request-timeout']),
      maxConnections: wholeNumber('--max-connections', values['max-connections']),
      shutdownGraceMs: duration('--shutdown-grace', values['shutdown-grace']),
      maxStateBytes: wholeNumber('--max-state-bytes', values['max-state-bytes']),
      maxPreAuthPacketBytes: wholeNumber('--max-preauth-packet-bytes', values['max-preauth-packet-bytes']),
      maxPendingConnections: wholeNumber('--max-pending-connections', values['max-pending-connections']),
      maxConnectionsPerDevice: wholeNumber('--max-connections-per-device', values['max-connections-per-device']),
      rejectionRecords: rejectionRecords === undefined ? undefined : { perSecond: rejectionRecords, burst: rejectionRecords * 200 },
      peers: values.peer,
      ...tlsInput(values, path.join('var', REVOCATION_LIST_NAME)),
      // the key the state's erasures were made with (common/privacy-key.ts): env, key file, var/privacy-key
      privacyKey: await loadPrivacyKey()
    }
    for (const k of Object.keys(input) as Array<keyof GatewayConfigInput>) if (input[k] === undefined) delete input[k]
    for (const k of ['maxRecords', 'maxBytes', 'maxAgeMs'] as const) if (input.batch![k] === undefined) delete input.batch![k]
    const config = createGatewayConfig(input)
    const logger = createLogger({ level: logLevelFromEnv(), destination: process.stderr })
    if (config.allowAnonymous) {
      process.stderr.write('\n*** stedi gateway: --allow-anonymous: ANY client may connect and publish as ANY device. Development only. ***\n\n')
      logger.warn('anonymous access is enabled (development only)')
    }
    const gw = await buildGateway(config, { logger })
    const ports = await gw.start()
    console.log(`stedi gateway ready: ${listenerUrls(config.host, config.tls !== undefined, ports)} ` +
      `landing=${config.s3 !== undefined ? `s3://${config.s3.bucket}/${config.s3.prefix}` : config.landingDir} state=${config.stateDir} sink=${config.sink}`)
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        logger.info({ signal }, 'stopping: no new readings; landing what was acknowledged')
        process.once(signal as NodeJS.Signals, () => { logger.error('second signal: exiting now; the outbox keeps what did not land'); process.exit(1) })
        gw.close().then(resolve, (err: unknown) => { logger.error({ err: (err as Error).message }, 'shutdown failed'); process.exitCode = 1; resolve() })
      }
      process.once('SIGTERM', () => stop('SIGTERM'))
      process.once('SIGINT', () => stop('SIGINT'))
    })
    logger.info('stopped')
    return process.exitCode === 1 ? 1 : 0
  }
}

export const devicesToken: Command = {
  name: 'devices token',
  usage: `stedi devices token ID --kind step-trainer|accelerometer|service [--generation N] [--var DIR]

Prints the credential for ID (a trainer's serialNumber, a phone user's email, or a service name
such as website) under STEDI_GATEWAY_SECRET, or, when it is unset, the secret \`stedi start\` keeps in
DIR/gateway-secret (default var). A device connects over MQTT with ID as username and the credential
as password, or sends it over HTTP as Authorization: Bearer <credential>. Services post customer
records with theirs. ID is 1 to 254 characters without control characters; in topics it is
percent-encoded (% + # / become %25 %2B %23 %2F).

  --generation N            the credential's generation (default 0): after \`stedi devices revoke\`,
                            issue the generation it names`,
  run: async (argv) => {
    const { values, positionals } = parse(argv, { kind: { type: 'string' }, generation: { type: 'string' }, var: { type: 'string' } }, true)
    if (values.help === true) { console.log(devicesToken.usage); return 0 }
    if (positionals.length !== 1) throw new UsageError('give the device identity as one argument')
    const problem = identityProblem(positionals[0])
    if (problem !== undefined) throw new UsageError(`${problem}: the gateway would never accept it`)
    const kind = oneOf('--kind', values.kind, CREDENTIAL_KINDS)
    if (kind === undefined) throw new UsageError(`--kind is required: ${CREDENTIAL_KINDS.join(', ')}`)
    const generation = wholeNumber('--generation', values.generation) ?? 0
    if (generation >= 2 ** 31) throw new UsageError(`--generation must be below ${2 ** 31}`)
    const { secret } = await findGatewaySecret(values.var ?? 'var')
    console.log(issueCredential(secret, kind, positionals[0], generation))
    return 0
  }
}

export const devicesRevoke: Command = {
  name: 'devices revoke',
  usage: `stedi devices revoke ID --kind step-trainer|accelerometer|service [--list FILE] [--generation N]

Revokes the device's credentials: the revocation list records the lowest generation still valid
(one more than before, or N). Every gateway following the list (--revocation-list) refuses the
revoked credentials and closes their connections within a few seconds, without a restart. Give the
device its next credential with \`stedi devices token ID --kind K --generation <that number>\`.
A client certificate counts as generation 0: revoking its device refuses the certificate too.

  --list FILE               the revocation list (default var/${REVOCATION_LIST_NAME}); replaced atomically
  --generation N            the lowest generation still valid (never lowers what the list says)`,
  run: async (argv) => {
    const { values, positionals } = parse(argv, { kind: { type: 'string' }, list: { type: 'string' }, generation: { type: 'string' } }, true)
    if (values.help === true) { console.log(devicesRevoke.usage); return 0 }
    if (positionals.length !== 1) throw new UsageError('give the device identity as one argument')
    const problem = identityProblem(positionals[0])
    if (problem !== undefined) throw new UsageError(`${problem}: no gateway holds such a device`)
    const kind = oneOf('--kind', values.kind, CREDENTIAL_KINDS)
    if (kind === undefined) throw new UsageError(`--kind is required: ${CREDENTIAL_KINDS.join(', ')}`)
    const generation = wholeNumber('--generation', values.generation)
    if (generation !== undefined && generation >= 2 ** 31) throw new UsageError(`--generation must be below ${2 ** 31}`)
    const list = path.resolve(values.list ?? path.join('var', REVOCATION_LIST_NAME))
    const entry = await revokeDevice(list, kind, positionals[0], generation)
    console.log(`revoked: ${kind} ${positionals[0]} below generation ${entry.minGeneration} (${list})\n` +
      `its next credential: stedi devices token ${positionals[0]} --kind ${kind} --generation ${entry.minGeneration}`)
    return 0
  }
}

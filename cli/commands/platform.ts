import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { createLogger } from '../../common/logger.js'
import { packageRoot } from '../../common/package-root.js'
import { buildGateway } from '../../gateway/app.js'
import { createGatewayConfig } from '../../gateway/config.js'
import { issueCredential } from '../../gateway/credentials.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { type S3ConnectionConfig, s3ConnectionFromEnv } from '../../common/s3-connection.js'
import { LocationError, type StorageLocation, locationText, parseLocation } from '../../common/storage-location.js'
import { formatAccounting, formatCountsTable, formatSummary, formatWarnings } from '../../pipeline/report.js'
import { runPipeline } from '../../pipeline/run.js'
import { runSchedule } from '../../pipeline/schedule.js'
import { loadPrivacyKey } from '../../common/privacy-key.js'
import { type Command, UsageError, durationFlag, logLevelFromEnv, parse, wholeNumber } from '../args.js'
import { createProgress } from '../progress.js'
import { SECRET_FILE_NAME, secretsFromEnv } from '../gateway-secret.js'
import { REVOCATION_LIST_NAME, TLS_OPTIONS, TLS_USAGE, listenerUrls, tlsInput } from './gateway.js'
import { fleetWithProgress, formatFleetSummary } from './simulate.js'
import { createConsolePipeline } from '../console-pipeline.js'

export const SAMPLE_LANDING = 'data/sample'

/** The secret of a platform started on embedded defaults: the environment's, or one kept in var/. */
async function platformSecret (varDir: string): Promise<string> {
  const [fromEnv] = secretsFromEnv()
  if (fromEnv !== undefined) return fromEnv
  const file = path.join(varDir, SECRET_FILE_NAME)
  const existing = await fs.readFile(file, 'utf8').then((s) => s.trim(), () => undefined)
  if (existing !== undefined && existing.length >= 16) return existing
  const secret = randomBytes(32).toString('hex')
  await fs.mkdir(varDir, { recursive: true })
  await fs.writeFile(file, secret + '\n', { mode: 0o600 })
  process.stderr.write(`stedi: no STEDI_GATEWAY_SECRET: made one in ${file} (devices' credentials derive from it)\n`)
  return secret
}

export const start: Command = {
  name: 'start',
  usage: `stedi start [--var DIR] [--landing LOC] [--lakehouse LOC] [--every DURATION] [--retain-landing DURATION] [--mqtt-port N] [--http-port N]
                   [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--mqtt-plain-port N] [--revocation-list FILE]

The platform in one process on embedded defaults: the gateway (embedded broker, local landing,
SQLite outbox) and the scheduled zone promotion, all data under DIR (default ./var). SIGTERM or
SIGINT: stop accepting, land what was acknowledged, promote it once more, exit 0.

  --var DIR                 data folder: DIR/landing, DIR/gateway, DIR/lakehouse (default var)
  --landing LOC             the landing zone instead of DIR/landing: a folder or s3://BUCKET/PREFIX
  --lakehouse LOC           the lakehouse instead of DIR/lakehouse: a folder or s3://BUCKET/PREFIX
                            (S3 the AWS way: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
                            AWS_ENDPOINT_URL_S3 or --s3-endpoint URL for an S3-compatible server)
  --every DURATION          promotion interval (default 1m)
  --retain-landing DURATION after each promotion, delete the landing files already promoted and last
                            modified more than DURATION ago, e.g. 30d (default: keep them)
  --mqtt-port N             (default 1883; 0 = any free port)
  --http-port N             (default 8080; 0 = any free port)
${TLS_USAGE} (default DIR/${REVOCATION_LIST_NAME})`,
  run: async (argv) => {
    const { values } = parse(argv, {
      var: { type: 'string' }, every: { type: 'string' }, 'mqtt-port': { type: 'string' }, 'http-port': { type: 'string' },
      landing: { type: 'string' }, lakehouse: { type: 'string' }, 's3-endpoint': { type: 'string' }, 'retain-landing': { type: 'string' }, ...TLS_OPTIONS
    })
    if (values.help === true) { console.log(start.usage); return 0 }
    const varDir = path.resolve(values.var ?? 'var')
    const everyMs = durationFlag('--every', values.every ?? '1m')!
    let landing: StorageLocation
    let lakehouse: StorageLocation
    let s3: S3ConnectionConfig | undefined
    try {
      landing = parseLocation(values.landing ?? path.join(varDir, 'landing'), '--landing')
      lakehouse = parseLocation(values.lakehouse ?? path.join(varDir, 'lakehouse'), '--lakehouse')
      if (landing.kind === 's3' || lakehouse.kind === 's3') s3 = s3ConnectionFromEnv(process.env, values['s3-endpoint'])
    } catch (err) {
      if (err instanceof LocationError) throw new UsageError(err.message)
      throw err
    }
    const logger = createLogger({ level: logLevelFromEnv(), destination: process.stderr })
    // the key of erasures, kept with the platform's other secret (var/privacy-key unless set)
    const privacyKey = await loadPrivacyKey({ env: { ...process.env, STEDI_PRIVACY_KEY_FILE: process.env.STEDI_PRIVACY_KEY_FILE ?? path.join(varDir, 'privacy-key') } })
    const gatewayConfig = createGatewayConfig({
      landingDir: landing.kind === 'local' ? landing.path : path.join(varDir, 'landing'),
      ...(landing.kind === 's3' ? { sink: 's3' as const, s3: { bucket: landing.bucket, prefix: landing.prefix, connection: s3! } } : {}),
      stateDir: path.join(varDir, 'gateway'),
      mqttPort: wholeNumber('--mqtt-port', values['mqtt-port']),
      httpPort: wholeNumber('--http-port', values['http-port']),
      secrets: [await platformSecret(varDir)],
      ...tlsInput(values, path.join(varDir, REVOCATION_LIST_NAME)),
      privacyKey
    })
    const pipelineConfig = createPipelineConfig({
      landingDir: locationText(landing), lakehouseDir: locationText(lakehouse), s3, waitMs: 60_000, privacyKey,
      retainLandingMs: durationFlag('--retain-landing', values['retain-landing'], '30d or 12h')
    })
    // the operator console at / shows the lakehouse too: runs, the zone funnel, freshness
    const gw = await buildGateway(gatewayConfig, { logger, consolePipeline: createConsolePipeline(pipelineConfig.lakehouseDir, { s3 }) })
    const ports = await gw.start()
    const controller = new AbortController()
    const schedule = runSchedule(pipelineConfig, { everyMs, logger: logger.child({ component: 'scheduler' }), signal: controller.signal })
    console.log(`stedi platform ready: ${listenerUrls(gatewayConfig.host, gatewayConfig.tls !== undefined, ports)} ` +
      `landing=${pipelineConfig.landingDir} lakehouse=${pipelineConfig.lakehouseDir} promotion every ${everyMs} ms` +
      (pipelineConfig.retainLandingMs !== undefined ? ` landing retained ${pipelineConfig.retainLandingMs} ms` : ''))
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve())
      process.once('SIGINT', () => resolve())
    })
    logger.info('stopping: landing what was acknowledged, then one last promotion')
    controller.abort()
    await schedule
    await gw.close()
    const report = await runPipeline(pipelineConfig)
    logger.info({ run: report.runId, status: report.status, counts: report.counts, retention: report.retention }, 'stopped')
    return 0
  }
}

export const demo: Command = {
  name: 'demo',
  usage: `stedi demo [--duration D] [--customers N] [--rate R] [--sample]

The platform end to end on this machine, nothing to configure: starts the gateway, runs a simulated
fleet (customers registered over HTTP, a Step Trainer and a phone each, publishing over MQTT) for
D, lands what it sent, promotes landing -> trusted -> curated, and prints the row-count table beside
the counts the fleet predicts, and where the machine-learning table is. Data under var/demo.

  --duration D              how long the fleet exercises (default 30s)
  --customers N             (default 50)
  --rate R                  readings per second per device (default 2)
  --sample                  instead: promote the bundled sample in ${SAMPLE_LANDING}/ (no gateway)`,
  run: async (argv) => {
    const { values } = parse(argv, { duration: { type: 'string' }, customers: { type: 'string' }, rate: { type: 'string' }, sample: { type: 'boolean' } })
    if (values.help === true) { console.log(demo.usage); return 0 }
    const root = path.resolve('var/demo')
    await fs.rm(root, { recursive: true, force: true })
    const lakehouseDir = path.join(root, 'lakehouse')
    let landingDir = path.join(packageRoot(), SAMPLE_LANDING)
    const out: string[] = []
    if (values.sample !== true) {
      const durationMs = durationFlag('--duration', values.duration ?? '30s')!
      const secret = randomBytes(32).toString('hex')
      landingDir = path.join(root, 'landing')
      const gw = await buildGateway(createGatewayConfig({
        landingDir, stateDir: path.join(root, 'gateway'), mqttPort: 0, httpPort: 0, secrets: [secret], batch: { maxAgeMs: 500 }
      }), { logger: createLogger({ level: 'warn', destination: process.stderr }) })
      try {
        const { mqttPort, httpPort } = await gw.start()
        console.log(`gateway: mqtt://127.0.0.1:${mqttPort} http://127.0.0.1:${httpPort}; a fleet exercises for ${Math.round(durationMs / 1000)} s ...`)
        const fleet = await fleetWithProgress({
          customers: wholeNumber('--customers', values.customers) ?? 50,
          durationMs,
          ratePerSecond: Number(values.rate ?? 2),
          consentRatio: 482 / 956,
          seed: 1,
          mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
          httpUrl: `http://127.0.0.1:${httpPort}`,
          credential: (kind, identity) => issueCredential(secret, kind, identity)
        })
        out.push(formatFleetSummary(fleet), '')
      } finally {
        await gw.close()
      }
    }
    const progress = createProgress()
    const report = await runPipeline(createPipelineConfig({ landingDir, lakehouseDir, fullRefresh: true }), { onProgress: progress.update }).finally(progress.done)
    out.push(
      `landing: ${landingDir}`,
      '',
      formatCountsTable(report.counts),
      '',
      ...(report.accounting !== null ? [formatAccounting(report.accounting), ''] : []),
      ...formatWarnings(report),
      formatSummary(report),
      '',
      `machine-learning table: ${path.join(lakehouseDir, 'curated/machine_learning_curated/data.parquet')}`,
      `try: npx stedi query --lakehouse ${path.relative(process.cwd(), lakehouseDir)} "SELECT * FROM machine_learning_curated LIMIT 5"`
    )
    console.log(out.join('\n'))
    return 0
  }
}

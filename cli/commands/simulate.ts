import { GENERATE_DEFAULTS, generateLanding } from '../../simulator/generate.js'
import { replay } from '../../simulator/replay.js'
import { type FleetSummary, runFleet } from '../../simulator/fleet.js'
import { SEQ_PERSISTENCE } from '../../firmware-mock/sequence.js'
import { issueCredential } from '../../gateway/credentials.js'
import { checkMqttCredentials, checkReachable, checkTarget } from '../../simulator/preflight.js'
import { createProgress } from '../progress.js'
import { findGatewaySecret } from '../gateway-secret.js'
import { type Command, UsageError, durationFlag, oneOf, parse, wholeNumber } from '../args.js'
import { type FleetFreshness, formatFreshness, startFreshnessWatch } from '../freshness.js'

const ratio = (flag: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${flag} must be a number from 0 to 1 (got ${value})`)
  return n
}

export const simulateGenerate: Command = {
  name: 'simulate generate',
  usage: `stedi simulate generate --out DIR [--customers N] [--seed S] [--consent-ratio P]
                        [--bad-ratio P] [--duplicate-ratio P]

Writes DIR/customer/landing, DIR/accelerometer/landing and DIR/step_trainer/landing in the
published data's format. The same options give the same files.

  --customers N             how many customers, each with a trainer and a phone (default 100)
  --seed S                  PRNG seed (default ${GENERATE_DEFAULTS.seed})
  --consent-ratio P         share of customers consenting to research (default ${GENERATE_DEFAULTS.consentRatio.toFixed(3)}, as published)
  --bad-ratio P             share of reading lines followed by a malformed line (default 0)
  --duplicate-ratio P       share of reading lines delivered twice (default 0)`,
  run: async (argv) => {
    const { values } = parse(argv, {
      out: { type: 'string' }, customers: { type: 'string' }, seed: { type: 'string' },
      'consent-ratio': { type: 'string' }, 'bad-ratio': { type: 'string' }, 'duplicate-ratio': { type: 'string' }
    })
    if (values.help === true) { console.log(simulateGenerate.usage); return 0 }
    if (values.out === undefined) throw new UsageError('--out DIR is required')
    const summary = await generateLanding(values.out, {
      customers: wholeNumber('--customers', values.customers) ?? 100,
      seed: wholeNumber('--seed', values.seed) ?? GENERATE_DEFAULTS.seed,
      consentRatio: ratio('--consent-ratio', values['consent-ratio'], GENERATE_DEFAULTS.consentRatio),
      badRatio: ratio('--bad-ratio', values['bad-ratio'], 0),
      duplicateRatio: ratio('--duplicate-ratio', values['duplicate-ratio'], 0)
    })
    console.log(`wrote ${values.out}: customer ${summary.lines.customer} lines, accelerometer ${summary.lines.accelerometer} ` +
      `(${summary.badLines.accelerometer} bad), step_trainer ${summary.lines.step_trainer} (${summary.badLines.step_trainer} bad)`)
    return 0
  }
}

export const simulateReplay: Command = {
  name: 'simulate replay',
  usage: `stedi simulate replay --data DIR --mqtt URL --http URL [--batch N] [--concurrency N]
                      [--duplicate-ratio P] [--disconnect-every N]

Sends a landing dataset (such as ../shared/data/stedi) through a gateway as the devices and the
website would have: customers over HTTP, each trainer's and each phone's readings over MQTT under
its own identity, in QoS 1 batches. Credentials derive from STEDI_GATEWAY_SECRET, as the gateway's (or var/gateway-secret, kept by stedi start).
Exits 0 only when every record was acknowledged.

  --batch N                 readings per MQTT batch (default 100)
  --concurrency N           devices replaying at once (default 32)
  --duplicate-ratio P       share of batches sent twice, as at-least-once devices do (default 0)
  --disconnect-every N      drop a device's connection mid-publish once every N batches on average (default never)
  --allow-remote            a gateway that is not on this machine (refused otherwise)`,
  run: async (argv) => {
    const { values } = parse(argv, {
      data: { type: 'string' }, mqtt: { type: 'string' }, http: { type: 'string' }, batch: { type: 'string' },
      concurrency: { type: 'string' }, 'duplicate-ratio': { type: 'string' }, 'disconnect-every': { type: 'string' }, 'allow-remote': { type: 'boolean' }
    })
    if (values.help === true) { console.log(simulateReplay.usage); return 0 }
    if (values.data === undefined || values.mqtt === undefined || values.http === undefined) throw new UsageError('--data, --mqtt and --http are required')
    const { secret } = await findGatewaySecret()
    await preflight(values.mqtt, values.http, values['allow-remote'] === true, 'the replay\'s devices', (kind, identity) => issueCredential(secret, kind, identity))
    const progress = createProgress()
    const summary = await replay({
      dataDir: values.data,
      mqttUrl: values.mqtt,
      httpUrl: values.http,
      credential: (kind, identity) => issueCredential(secret, kind, identity),
      batchSize: wholeNumber('--batch', values.batch),
      concurrency: wholeNumber('--concurrency', values.concurrency),
      duplicateRatio: ratio('--duplicate-ratio', values['duplicate-ratio'], 0),
      disconnectEvery: wholeNumber('--disconnect-every', values['disconnect-every']),
      onProgress: (p) => progress.update(`acknowledged ${p.acknowledged} of ${p.customers + p.readings}`)
    }).finally(progress.done)
    const total = summary.customers + summary.readings
    console.log(`replayed ${values.data}: ${summary.customers} customers and ${summary.readings} readings; acknowledged ${summary.acknowledged} of ${total}` +
      ` (customer ${summary.acknowledgedByDataset.customer}, accelerometer ${summary.acknowledgedByDataset.accelerometer}, step_trainer ${summary.acknowledgedByDataset.step_trainer});` +
      ` ${summary.redelivered} redeliveries, ${summary.disconnects} dropped connections`)
    return summary.acknowledged === total ? 0 : 1
  }
}

export const simulateFleet: Command = {
  name: 'simulate fleet',
  usage: `stedi simulate fleet --mqtt URL --http URL [--customers N] [--duration D] [--rate R]
                     [--consent-ratio P] [--seed S] [--batch N] [--restart-every N] [--seq-persistence flash|ram]
                     [--watch-lakehouse DIR [--sample-every N] [--watch-every D] [--watch-timeout D]]

Registers N customers over HTTP and gives each a Step Trainer and a phone that read at the same
instants during an exercise session of D, R readings per second per device, publishing QoS 1
batches. Shows live progress on a terminal; ends with a summary that accounts for every reading
(generated = acknowledged + dropped by a full buffer + lost in restarts + failed) and the zone
counts a pipeline run must then give. Deterministic for a seed. Credentials derive from
STEDI_GATEWAY_SECRET.

  --customers N             (default 100)
  --duration D              session length, e.g. 30s (default 30s)
  --rate R                  readings per second per device (default 2)
  --consent-ratio P         share consenting to research (default ${GENERATE_DEFAULTS.consentRatio.toFixed(3)})
  --seed S                  (default 1)
  --batch N                 readings per batch (default 10)
  --restart-every N         power-cycle a device once every N readings on average (default never);
                            it keeps its unacknowledged batches (flash) and loses its open batch (RAM)
  --seq-persistence flash|ram  where the devices keep their seq counter across a restart (default ram:
                            it starts again at 0)
  --watch-lakehouse DIR     measure freshness: follow one reading in N from its PUBACK until its row is in
                            the current version of DIR's machine_learning_curated (a local lakehouse that a
                            scheduled promotion fills from the gateway's landing, as under stedi start);
                            reports p50/p95/p99/max, and how many readings never became visible (exit 1
                            unless 0; readings of customers without consent are followed too: none may appear)
  --sample-every N          follow one reading in N (default 100)
  --watch-every D           how often the lakehouse's state is polled (default 1s)
  --watch-timeout D         after the fleet stops, how long to wait for readings not yet visible (default 2m)
  --json                    print the summary as JSON
  --allow-remote            a gateway that is not on this machine (refused otherwise)`,
  run: async (argv) => {
    const { values } = parse(argv, {
      mqtt: { type: 'string' }, http: { type: 'string' }, customers: { type: 'string' }, duration: { type: 'string' },
      rate: { type: 'string' }, 'consent-ratio': { type: 'string' }, seed: { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' },
      'restart-every': { type: 'string' }, 'seq-persistence': { type: 'string' }, 'allow-remote': { type: 'boolean' },
      'watch-lakehouse': { type: 'string' }, 'sample-every': { type: 'string' }, 'watch-every': { type: 'string' }, 'watch-timeout': { type: 'string' }
    })
    if (values.help === true) { console.log(simulateFleet.usage); return 0 }
    if (values.mqtt === undefined || values.http === undefined) throw new UsageError('--mqtt and --http are required')
    const { secret } = await findGatewaySecret()
    const durationMs = durationFlag('--duration', values.duration ?? '30s')!
    const restartEvery = wholeNumber('--restart-every', values['restart-every'])
    const watchOptions = values['watch-lakehouse'] === undefined
      ? undefined
      : {
          lakehouse: values['watch-lakehouse'],
          sampleEvery: wholeNumber('--sample-every', values['sample-every']) ?? 100,
          everyMs: durationFlag('--watch-every', values['watch-every'] ?? '1s')!,
          timeoutMs: durationFlag('--watch-timeout', values['watch-timeout'] ?? '2m')!
        }
    if (watchOptions !== undefined && watchOptions.sampleEvery < 1) throw new UsageError('--sample-every must be at least 1')
    await preflight(values.mqtt, values.http, values['allow-remote'] === true, 'the fleet\'s devices', (kind, identity) => issueCredential(secret, kind, identity))
    // the table's version before the fleet's first reading is the baseline
    const freshnessWatch = watchOptions === undefined ? undefined : await startFreshnessWatch(watchOptions)
    const summary = await fleetWithProgress({
      customers: wholeNumber('--customers', values.customers) ?? 100,
      durationMs,
      ratePerSecond: Number(values.rate ?? 2),
      consentRatio: ratio('--consent-ratio', values['consent-ratio'], GENERATE_DEFAULTS.consentRatio),
      seed: wholeNumber('--seed', values.seed) ?? 1,
      batchSize: wholeNumber('--batch', values.batch),
      faults: restartEvery === undefined || restartEvery === 0 ? undefined : { restart: 1 / restartEvery },
      seqPersistence: oneOf('--seq-persistence', values['seq-persistence'], SEQ_PERSISTENCE),
      mqttUrl: values.mqtt,
      httpUrl: values.http,
      credential: (kind, identity) => issueCredential(secret, kind, identity),
      onAck: freshnessWatch?.onAck
    }).catch(async (err: unknown) => { await freshnessWatch?.cancel(); throw err })
    let freshness: FleetFreshness | undefined
    if (freshnessWatch !== undefined) {
      const progress = createProgress()
      progress.update('waiting for the readings followed to become visible in the lakehouse')
      freshness = await freshnessWatch.finish().finally(progress.done)
    }
    console.log(values.json === true
      ? JSON.stringify(freshness === undefined ? summary : { ...summary, freshness })
      : [formatFleetSummary(summary), ...(freshness === undefined ? [] : [formatFreshness(freshness)])].join('\n'))
    const fresh = freshness === undefined || (freshness.neverVisible === 0 && freshness.notConsenting.visible === 0)
    return summary.failed === 0 && fresh ? 0 : 1
  }
}

// Before any device starts: a loopback target (unless allowed), something listening at both URLs,
// and credentials the gateway takes; each failure is one line naming the URL or what was refused.
async function preflight (mqttUrl: string, httpUrl: string, allowRemote: boolean, who: string, credential: (kind: 'step-trainer', identity: string) => string): Promise<void> {
  for (const url of [mqttUrl, httpUrl]) checkTarget(url, allowRemote)
  for (const url of [mqttUrl, httpUrl]) await checkReachable(url)
  const probe = `sim-probe-${process.pid}`
  await checkMqttCredentials(mqttUrl, who, probe, credential('step-trainer', probe))
}

export async function fleetWithProgress (options: Parameters<typeof runFleet>[0]): Promise<FleetSummary> {
  const progress = createProgress()
  let last = { at: Date.now(), acknowledged: 0 }
  return await runFleet({
    ...options,
    onProgress: (p) => {
      const now = Date.now()
      const rate = ((p.acknowledged - last.acknowledged) * 1000) / Math.max(1, now - last.at)
      last = { at: now, acknowledged: p.acknowledged }
      progress.update(`devices connected ${p.connected}/${p.devices}; readings sent ${p.generated}, acknowledged ${p.acknowledged}, waiting ${p.pending}, dropped ${p.dropped}; ${Math.round(rate)}/s`)
    }
  }).finally(progress.done)
}

export function formatFleetSummary (s: FleetSummary): string {
  return [
    `fleet: ${s.customers} customers (${s.consenting} consenting), ${s.devices} devices connected in ${s.connectMs} ms, ${s.ticks} readings per device in ${s.runMs} ms`,
    `readings: generated ${s.generated} = acknowledged ${s.acknowledged} + dropped by a full buffer ${s.dropped} + lost in restarts ${s.lost} + failed ${s.failed}; ` +
      `${s.reconnects} reconnects, ${s.restarts} restarts`,
    `acknowledged ${Math.round(s.acknowledged / Math.max(1, s.runMs / 1000))} readings/s; publish to PUBACK p50 ${s.ackLatencyMs.p50} ms, p99 ${s.ackLatencyMs.p99} ms, max ${s.ackLatencyMs.max} ms`,
    `a pipeline run must give: landing ${s.expected.landing.customer} / ${s.expected.landing.accelerometer} / ${s.expected.landing.step_trainer}; ` +
      `trusted ${s.expected.trusted.customer} / ${s.expected.trusted.accelerometer} / ${s.expected.trusted.step_trainer}; ` +
      `curated ${s.expected.curated.customer} customers, ${s.expected.curated.machine_learning} machine-learning rows`
  ].join('\n')
}

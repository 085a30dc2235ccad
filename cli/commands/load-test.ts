import fs from 'node:fs/promises'
import { packageVersion } from '../../common/package-root.js'
import { issueCredential } from '../../gateway/credentials.js'
import { startBareBroker } from '../../simulator/load/baseline.js'
import { renderHtml } from '../../simulator/load/html.js'
import { type LoadTestReport, buildReport } from '../../simulator/load/report.js'
import { SCENARIOS, runLoadTest } from '../../simulator/load/run.js'
import { type Command, UsageError, durationFlag, oneOf, parse, wholeNumber } from '../args.js'
import { createProgress } from '../progress.js'
import { findGatewaySecret } from '../gateway-secret.js'
import { summaryLines } from '../load-test-summary.js'

export const loadTest: Command = {
  name: 'load-test',
  usage: `stedi load-test --mqtt URL --http URL --scenario SCENARIO --devices N --duration D
                [--batch K] [--rate R] [--baseline] [--json] [--report FILE] [--allow-remote]

Drives a gateway with N emulated devices and reconciles every reading: generated, acknowledged,
landed, deduplicated, rejected, lost (acknowledged but not landed: must be 0), with
acknowledgement latency percentiles, rate over time, and the gateway's memory and CPU (from its
/metrics). Credentials derive from STEDI_GATEWAY_SECRET (or var/gateway-secret, kept by stedi start). Only loopback targets unless --allow-remote.

Scenarios:
  steady   N devices at R readings/s for D
  ramp     the rate doubles in 6 steps; when a step's p99 latency passes --p99-ms or its errors 1%,
           reports the knee (the highest rate held before it), else the highest rate held
  spike    10x the rate for 30 s (or a third of D) in the middle
  storm    every device drops its connection at once; reports the time until all are back and publishing
  soak     steady, watching the gateway's memory and outbox depth for growth
  mixed    half the devices over MQTT, half over HTTP

  --batch K                 readings per message (default 10)
  --rate R                  readings per second per device (default 10)
  --p99-ms N                ramp threshold (default 1000)
  --baseline                run the same scenario against a bare aedes broker too; adds baseline.rate and ratio
  --metrics URL             a gateway whose /metrics count in the reconciliation (repeat for each
                            gateway behind a balancer; default: the --http URL)
  --json                    one JSON result object on stdout
  --report FILE             an HTML report that opens offline: the run (date, target, version,
                            options), every figure, and charts of rate, latency, the gateway's CPU,
                            memory and outbox depth (with --baseline, the bare broker's on the same charts)`,
  run: async (argv) => {
    const { values } = parse(argv, {
      mqtt: { type: 'string' }, http: { type: 'string' }, scenario: { type: 'string' }, devices: { type: 'string' }, duration: { type: 'string' },
      batch: { type: 'string' }, rate: { type: 'string' }, 'p99-ms': { type: 'string' }, baseline: { type: 'boolean' }, json: { type: 'boolean' },
      report: { type: 'string' }, 'allow-remote': { type: 'boolean' }, metrics: { type: 'string', multiple: true }
    })
    if (values.help === true) { console.log(loadTest.usage); return 0 }
    if (values.mqtt === undefined || values.http === undefined) throw new UsageError('--mqtt and --http are required')
    const scenario = oneOf('--scenario', values.scenario, SCENARIOS)
    if (scenario === undefined) throw new UsageError(`--scenario is required: ${SCENARIOS.join(', ')}`)
    const durationMs = durationFlag('--duration', values.duration)
    if (durationMs === undefined) throw new UsageError('--duration is required, such as 30s')
    const { secret } = await findGatewaySecret()
    const rate = Number(values.rate ?? 10)
    if (!Number.isFinite(rate) || rate <= 0) throw new UsageError('--rate must be a positive number')
    const base = {
      scenario,
      devices: wholeNumber('--devices', values.devices) ?? 10,
      durationMs,
      batch: wholeNumber('--batch', values.batch) ?? 10,
      ratePerDevice: rate,
      thresholds: { p99Ms: wholeNumber('--p99-ms', values['p99-ms']) ?? 1000, errorRate: 0.01 },
      allowRemote: values['allow-remote'] === true,
      credential: (kind: 'step-trainer' | 'accelerometer', identity: string) => issueCredential(secret, kind, identity)
    }
    const progress = createProgress()
    let result: LoadTestReport
    try {
      result = { ...await runLoadTest({ ...base, mqttUrl: values.mqtt, httpUrl: values.http, metricsUrls: values.metrics, onProgress: (m) => progress.update(`gateway: ${m}`) }), version: packageVersion() }
      if (values.baseline === true) {
        const bare = await startBareBroker()
        try {
          const b = await runLoadTest({ ...base, scenario: scenario === 'mixed' ? 'steady' : scenario, mqttUrl: bare.url, onProgress: (m) => progress.update(`bare aedes: ${m}`) })
          result.baseline = { scenario: b.scenario, rate: b.rate, latency_ms: b.latency_ms, recoveryMs: b.recoveryMs, knee: b.knee, series: b.series }
          result.ratio = Math.round((result.rate / Math.max(1, b.rate)) * 100) / 100
        } finally {
          await bare.close()
        }
      }
    } finally {
      progress.done()
    }
    if (values.report !== undefined) await fs.writeFile(values.report, renderHtml(buildReport(result)))
    console.log(values.json === true ? JSON.stringify(result) : summaryLines(result, values.report).join('\n'))
    return result.readings.lost === null || result.readings.lost === 0 ? 0 : 1
  }
}

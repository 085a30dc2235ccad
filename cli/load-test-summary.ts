// The lines `stedi load-test` prints when it ends (without --json): the same figures as the HTML
// report, with the same thousands separators and the same sentence for the ramp.
import { formatNumber } from '../simulator/load/format.js'
import { describeKnee } from '../simulator/load/knee.js'
import type { LoadTestReport } from '../simulator/load/report.js'

const n = (x: number | null | undefined): string => formatNumber(x)
const ms = (x: number): string => `${formatNumber(x, 2)} ms`
const recovery = (x: number | null | undefined): string => x === null || x === undefined ? 'never' : `${formatNumber(x)} ms`

export function summaryLines (r: LoadTestReport, reportFile?: string): string[] {
  const d = r.readings
  const lines = [
    `scenario ${r.scenario}: ${n(r.devices)} devices, ${formatNumber(r.durationMs / 1000, 1)} s, ${n(r.batch)} readings per message, ${formatNumber(r.ratePerDevice, 2)} readings/s per device`,
    `readings    generated ${n(d.generated)}, acknowledged ${n(d.acknowledged)}, landed ${n(d.landed)}, deduplicated ${n(d.deduplicated)}, rejected ${n(d.rejected)}, lost ${n(d.lost)}; device buffers dropped ${n(d.dropped)}, failed ${n(d.failed)}`,
    `rate        ${n(r.rate)} acknowledged readings/s`,
    `latency     p50 ${ms(r.latency_ms.p50)}, p95 ${ms(r.latency_ms.p95)}, p99 ${ms(r.latency_ms.p99)}, max ${ms(r.latency_ms.max)}`
  ]
  if (r.gateway !== null) lines.push(`gateway     peak ${n(r.gateway.peakRssMb)} MB, ${formatNumber(r.gateway.cpuSeconds, 2)} CPU s`)
  if (r.knee !== undefined) lines.push(`ramp        ${describeKnee(r.knee)}`)
  if (r.recoveryMs !== undefined) lines.push(`storm       all devices back and publishing after ${recovery(r.recoveryMs)}`)
  if (r.soak !== undefined) lines.push(`soak        memory ${n(r.soak.rssStartMb)} -> ${n(r.soak.rssEndMb)} MB (${formatNumber(r.soak.rssSlopeMbPerMin, 2)} MB/min), outbox depth max ${n(r.soak.outboxDepthMax)}`)
  const b = r.baseline
  if (b !== undefined) {
    lines.push(`baseline    bare aedes ${n(b.rate)} readings/s, p99 ${ms(b.latency_ms.p99)}; gateway / bare = ${formatNumber(r.ratio, 2)}` +
      (b.recoveryMs !== undefined ? `; bare storm recovery ${recovery(b.recoveryMs)}` : '') +
      (b.knee !== undefined ? `; bare aedes ramp: ${describeKnee(b.knee)}` : ''))
  }
  if (reportFile !== undefined) lines.push(`report      ${reportFile}`)
  return lines
}

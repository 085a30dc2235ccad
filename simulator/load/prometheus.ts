// Reads the gateway's /metrics (Prometheus text) into numbers a load test can subtract.
import { SimulatorError } from '../errors.js'
import { fetchGateway } from '../preflight.js'

export type Samples = Map<string, Array<{ labels: Record<string, string>, value: number }>>

export function parsePrometheus (text: string): Samples {
  const out: Samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v
    out.set(m[1], [...(out.get(m[1]) ?? []), { labels, value: Number(m[3]) }])
  }
  return out
}

export const sumOf = (s: Samples, name: string, filter: (l: Record<string, string>) => boolean = () => true): number =>
  (s.get(name) ?? []).filter((x) => filter(x.labels)).reduce((a, x) => a + x.value, 0)

export async function scrape (httpUrl: string): Promise<Samples> {
  const res = await fetchGateway(`${httpUrl}/metrics`, {})
  if (res.status !== 200) throw new SimulatorError('SIM_ERR_GATEWAY', `${httpUrl}/metrics answered HTTP ${res.status}: is --http (or --metrics) the gateway's HTTP port?`)
  return parsePrometheus(await res.text())
}

/** Several gateways' /metrics as one (a site behind a load balancer): their samples side by side, summed by sumOf. */
export async function scrapeAll (httpUrls: readonly string[]): Promise<Samples> {
  const out: Samples = new Map()
  for (const s of await Promise.all(httpUrls.map(scrape))) {
    for (const [name, xs] of s) out.set(name, [...(out.get(name) ?? []), ...xs])
  }
  return out
}

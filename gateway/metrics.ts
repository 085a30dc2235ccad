// Counters, gauges and histograms, rendered in the Prometheus text format for GET /metrics.
// Readings are counted, never logged one by one.
type Labels = Record<string, string>

const canonical = (labels: Labels): string => Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')
// counters are bumped per message: the canonical (sorted, escaped) form is made once per label set
const keys = new Map<string, string>()
// the hot paths pass the same frozen label objects each time: found by identity, nothing built
const keysOfObjects = new WeakMap<Labels, string>()
function key (labels: Labels): string {
  if (Object.isFrozen(labels)) {
    const known = keysOfObjects.get(labels)
    if (known !== undefined) return known
  }
  let raw = ''
  for (const k in labels) raw += `${k}\u0000${labels[k]}\u0000`
  let found = keys.get(raw)
  if (found === undefined) {
    found = canonical(labels)
    if (keys.size < 10_000) keys.set(raw, found)
  }
  if (Object.isFrozen(labels)) keysOfObjects.set(labels, found)
  return found
}

export class Counter {
  readonly values = new Map<string, number>()
  constructor (readonly name: string, readonly help: string) {}
  inc (labels: Labels = {}, n = 1): void {
    const k = key(labels)
    this.values.set(k, (this.values.get(k) ?? 0) + n)
  }

  get (labels: Labels = {}): number { return this.values.get(key(labels)) ?? 0 }
  sum (): number { let s = 0; for (const v of this.values.values()) s += v; return s }
  /** the counts summed by one label's value (the operator console's tables) */
  by (label: string): Record<string, number> {
    const out: Record<string, number> = {}
    const pattern = new RegExp(`(?:^|,)${label}="((?:[^"\\\\]|\\\\.)*)"`)
    for (const [k, v] of this.values) {
      const m = pattern.exec(k)
      const value = m === null ? '' : m[1].replaceAll('\\"', '"').replaceAll('\\\\', '\\')
      out[value] = (out[value] ?? 0) + v
    }
    return out
  }
  render (): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`]
    for (const [k, v] of this.values) lines.push(`${this.name}${k === '' ? '' : `{${k}}`} ${v}`)
    return lines.join('\n')
  }
}

export class Gauge {
  constructor (readonly name: string, readonly help: string, private readonly read: () => Array<[Labels, number]>) {}
  render (): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`]
    for (const [labels, v] of this.read()) { const k = key(labels); lines.push(`${this.name}${k === '' ? '' : `{${k}}`} ${v}`) }
    return lines.join('\n')
  }
}

export class Histogram {
  private readonly counts: number[]
  private total = 0
  private n = 0
  constructor (readonly name: string, readonly help: string, readonly buckets: number[]) {
    this.counts = buckets.map(() => 0)
  }

  observe (v: number): void {
    this.n++
    this.total += v
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++
  }

  get count (): number { return this.n }

  /**
   * The q-quantile estimated from the buckets as Prometheus' histogram_quantile does: linear within
   * the bucket that holds it (from 0 for the first); the highest bound when it lies above them all.
   * undefined before any observation.
   */
  quantile (q: number): number | undefined {
    if (this.n === 0) return undefined
    const rank = q * this.n
    for (let i = 0; i < this.buckets.length; i++) {
      if (this.counts[i] >= rank) {
        const lower = i === 0 ? 0 : this.buckets[i - 1]
        const below = i === 0 ? 0 : this.counts[i - 1]
        const inBucket = this.counts[i] - below
        return inBucket === 0 ? this.buckets[i] : lower + (this.buckets[i] - lower) * (rank - below) / inBucket
      }
    }
    return this.buckets[this.buckets.length - 1]
  }

  render (): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`))
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.n}`, `${this.name}_sum ${this.total}`, `${this.name}_count ${this.n}`)
    return lines.join('\n')
  }
}

export interface GatewayMetrics {
  received: Counter
  accepted: Counter
  rejected: Counter
  deduplicated: Counter
  erased: Counter
  batchesFlushed: Counter
  bytesFlushed: Counter
  recordsFlushed: Counter
  sinkErrors: Counter
  s3Objects: Counter
  s3Bytes: Counter
  s3Retries: Counter
  s3Errors: Counter
  aclDenied: Counter
  refused: Counter
  refusals: Counter
  seqConflicts: Counter
  notItemized: Counter
  connectionsClosed: Counter
  willsDropped: Counter
  authFailures: Counter
  flushLatency: Histogram
  ackLatency: Histogram
  /** when a landing file (or Firehose batch) was last published, epoch ms (the console's freshness) */
  lastFlushAtMs: number | undefined
  addGauge: (name: string, help: string, read: () => Array<[Labels, number]>) => void
  render: () => string
}

export function createMetrics (): GatewayMetrics {
  const gauges: Gauge[] = []
  const m = {
    received: new Counter('stedi_readings_received_total', 'readings received, valid or not, by dataset and transport'),
    accepted: new Counter('stedi_readings_accepted_total', 'readings acknowledged and kept to land (counted when the ledger has ruled out a redelivery), by dataset'),
    rejected: new Counter('stedi_readings_rejected_total', 'readings acknowledged but refused as invalid (never landed), by dataset and reason'),
    deduplicated: new Counter('stedi_readings_deduplicated_total', 'readings already accepted before (redeliveries), by dataset'),
    erased: new Counter('stedi_readings_erased_total', 'readings acknowledged and dropped because a tombstone covers them (an erased customer\'s), by dataset'),
    batchesFlushed: new Counter('stedi_batches_flushed_total', 'landing files (or Firehose batches) published, by dataset'),
    bytesFlushed: new Counter('stedi_bytes_flushed_total', 'bytes of landing records published, by dataset'),
    recordsFlushed: new Counter('stedi_records_flushed_total', 'landing records published, by dataset'),
    s3Objects: new Counter('stedi_s3_objects_total', 'landing objects written to S3, by dataset'),
    s3Bytes: new Counter('stedi_s3_bytes_total', 'bytes of landing objects written to S3, by dataset'),
    s3Retries: new Counter('stedi_s3_retries_total', 'S3 writes attempted again after a failure, by dataset'),
    s3Errors: new Counter('stedi_s3_errors_total', 'failed S3 write attempts, by dataset'),
    sinkErrors: new Counter('stedi_sink_errors_total', 'failed publication attempts, by dataset'),
    aclDenied: new Counter('stedi_acl_denied_total', 'publishes and subscriptions refused by the device ACL, by action'),
    refused: new Counter('stedi_readings_refused_total', 'readings refused without an acknowledgement (the device sends them again), by dataset, reason and transport'),
    refusals: new Counter('stedi_refusals_total', 'messages refused without an acknowledgement (each is in the ledger), by dataset, reason and transport'),
    seqConflicts: new Counter('stedi_seq_conflicts_total', 'messages that reused a seq with other content (they land), by dataset'),
    notItemized: new Counter('stedi_rejections_not_itemized_total', 'refusals counted but not itemized in the ledger (over the per-device cap), by dataset'),
    willsDropped: new Counter('stedi_mqtt_wills_dropped_total', 'MQTT wills removed at CONNECT (a device topic keeps no will)'),
    authFailures: new Counter('stedi_gateway_auth_failures_total', 'logins refused (MQTT CONNECT, HTTP requests), by reason and transport'),
    connectionsClosed: new Counter('stedi_connections_closed_total', 'connections the gateway closed to protect itself, by transport and reason'),
    flushLatency: new Histogram('stedi_flush_latency_seconds', 'time from a flush claim to its publication', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]),
    ackLatency: new Histogram('stedi_ack_latency_seconds', 'time from a message\'s arrival to its acknowledgement', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]),
    lastFlushAtMs: undefined as number | undefined,
    addGauge: (name: string, help: string, read: () => Array<[Labels, number]>) => { gauges.push(new Gauge(name, help, read)) },
    render: () => [
      m.received, m.accepted, m.rejected, m.deduplicated, m.erased, m.refused, m.refusals, m.seqConflicts, m.notItemized, m.batchesFlushed, m.bytesFlushed, m.recordsFlushed, m.sinkErrors, m.s3Objects, m.s3Bytes, m.s3Retries, m.s3Errors, m.aclDenied, m.connectionsClosed, m.willsDropped, m.authFailures,
      m.flushLatency, m.ackLatency, ...gauges
    ].map((x) => x.render()).join('\n') + '\n'
  }
  return m
}

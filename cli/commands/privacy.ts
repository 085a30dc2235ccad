// stedi privacy erase | verify | report: the right to erasure, and the proof of it.
import fs from 'node:fs/promises'
import { identityHash, keyFingerprint } from '../../contracts/privacy.js'
import { ensurePrivacyKey, loadPrivacyKey } from '../../common/privacy-key.js'
import { parseLocation, type StorageLocation } from '../../common/storage-location.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { ERASURE_PAUSE_POINTS, type ErasureReceipt, eraseCustomers } from '../../pipeline/privacy/erase.js'
import { type Occurrence, type ScanPlace, scanPlaces, serialsInClear } from '../../pipeline/privacy/scan.js'
import { openSnapshot, querySnapshot, openStateForRead } from '../../pipeline/snapshot.js'
import { PipelineError } from '../../pipeline/errors.js'
import { type Command, UsageError, durationFlag, oneOf, parse } from '../args.js'
import { DEFAULT_LAKEHOUSE, DEFAULT_LANDING } from '../defaults.js'
import { S3_OPTION, S3_USAGE, storageFlags } from './s3-flags.js'
import { checkGatewayStates, eraseGateways, GATEWAY_OPTIONS, GATEWAY_USAGE, reachesGateways } from './privacy-gateway.js'

const PLACE_OPTIONS = {
  email: { type: 'string', multiple: true },
  emails: { type: 'string' },
  landing: { type: 'string' },
  lakehouse: { type: 'string' },
  'gateway-state': { type: 'string', multiple: true },
  json: { type: 'boolean' },
  ...S3_OPTION
} as const

const PLACE_USAGE = `  --email EMAIL             the customer (repeatable)
  --emails FILE             one email per line (blank lines and # comments skipped)
  --landing LOC             landing root (default ${DEFAULT_LANDING}); or s3://BUCKET/PREFIX
  --lakehouse LOC           the lakehouse (default ${DEFAULT_LAKEHOUSE}); or s3://BUCKET/PREFIX
  --gateway-state DIR       a stopped gateway's state folder (repeatable)
${S3_USAGE}
  --json                    print one JSON object`

const EMAIL = /^[^\s@]+@[^\s@]+$/

async function emailsFrom (values: { email?: string[], emails?: string }): Promise<string[]> {
  const out: Array<[string, string]> = (values.email ?? []).map((e) => [e.trim(), '--email'])
  if (values.emails !== undefined) {
    const text = await fs.readFile(values.emails, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read --emails ${values.emails}: ${err.code ?? err.message}`)
    })
    text.split(/\r?\n/).forEach((line, i) => {
      const e = line.trim()
      if (e !== '' && !e.startsWith('#')) out.push([e, `${values.emails}:${i + 1}`])
    })
  }
  // a typo must not pass for a customer with no data: what is erased, and proven gone, is exactly what was named
  for (const [e, where] of out) if (e !== '' && !EMAIL.test(e)) throw new UsageError(`${where}: "${e}" is not an email address (one per line; comments on lines of their own)`)
  const emails = [...new Set(out.map(([e]) => e).filter((e) => e !== ''))]
  if (emails.length === 0) throw new UsageError('name the customer: --email EMAIL (or --emails FILE)')
  return emails
}

function placesFrom (values: { landing?: string, lakehouse?: string, 'gateway-state'?: string[] }): ScanPlace[] {
  const places: ScanPlace[] = [
    { name: 'landing', location: parseLocation(values.landing ?? DEFAULT_LANDING, '--landing') },
    { name: 'lakehouse', location: parseLocation(values.lakehouse ?? DEFAULT_LAKEHOUSE, '--lakehouse') }
  ]
  for (const dir of values['gateway-state'] ?? []) places.push({ name: `gateway-state ${dir}`, location: parseLocation(dir, '--gateway-state') })
  return places
}

const hashLabel = (key: Uint8Array | undefined, kind: 'email' | 'serial', value: string): string =>
  key === undefined ? `(${kind})` : identityHash(key, kind, value).slice(0, 16)

export const privacyErase: Command = {
  name: 'privacy erase',
  usage: `stedi privacy erase --email EMAIL [--email ...|--emails FILE] [options]

Erases customers: every record keyed by their email (customer records, phone readings) or by any
serial number their records carry (trainer readings), from the landing files (rewritten in place),
every landing, quarantine, trusted and curated table file of every retained version, the pipeline
state, and each gateway state named; then keeps tombstones (keyed hashes, never the email) so that
a redelivered file or a device still sending brings nothing back. It takes the lakehouse's lock like
a run, may be run again (it finishes a killed erasure), and prints a receipt per place (also kept in
the lakehouse's run history). Exit 0 once every copy is gone.

${PLACE_USAGE}
${GATEWAY_USAGE}
  --wait DURATION           queue behind a run in progress (default: fail at once)

The privacy key comes from STEDI_PRIVACY_KEY, STEDI_PRIVACY_KEY_FILE or var/privacy-key (made on
first use, mode 600; keep it with the platform's secrets: runs and gateways need it once they hold
tombstones).`,
  run: async (argv) => {
    const { values } = parse(argv, { ...PLACE_OPTIONS, ...GATEWAY_OPTIONS, wait: { type: 'string' }, 'pause-after': { type: 'string' } })
    if (values.help === true) { console.log(privacyErase.usage); return 0 }
    const emails = await emailsFrom(values)
    // flags first: a mistyped one must not leave a new privacy key behind
    const waitMs = durationFlag('--wait', values.wait) ?? 0
    checkGatewayStates(values)
    const { key, made } = await ensurePrivacyKey()
    if (made !== undefined) process.stderr.write(`stedi: no privacy key: made one in ${made} (keep it with the platform's secrets)\n`)
    const landingDir = values.landing ?? DEFAULT_LANDING
    const lakehouseDir = values.lakehouse ?? DEFAULT_LAKEHOUSE
    const config = createPipelineConfig({
      landingDir, lakehouseDir, waitMs, privacyKey: key,
      s3: storageFlags(values, [['--landing', landingDir], ['--lakehouse', lakehouseDir]])
    })
    const { receipt, tombstones, serials } = await eraseCustomers(config, {
      emails, pauseAfter: oneOf('--pause-after', values['pause-after'], ERASURE_PAUSE_POINTS)
    })
    receipt.gateways = await eraseGateways(values, key, tombstones)
    if (reachesGateways(values)) {
      // a running gateway may have landed the customer's readings while the landing was rewritten
      const late = await eraseCustomers(config, { emails, serials })
      receipt.landing.filesRewritten += late.receipt.landing.filesRewritten
      receipt.landing.linesRemoved += late.receipt.landing.linesRemoved
      receipt.landing.files.push(...late.receipt.landing.files)
    }
    const found = receipt.landing.linesRemoved + Object.values(receipt.lakehouse.rowsRemoved).reduce((a, b) => a + b, 0)
    if (found === 0 && (receipt.gateways ?? []).length === 0) {
      process.stderr.write('stedi: no record of the customer(s) named was found in landing or lakehouse; their tombstones are kept (a later delivery is dropped)\n')
    }
    // exit 0 only once every copy is gone: the same independent scan as verify, over the places named
    const s3Config = storageFlags(values, [['--landing', landingDir], ['--lakehouse', lakehouseDir]])
    const s3 = s3Config === undefined ? undefined : (await import('../../pipeline/s3/access.js')).openS3Session(s3Config)
    let left: Occurrence[]
    try {
      const serialHashes = new Set(tombstones.filter((x) => x.kind === 'serial').map((x) => x.hash))
      left = (await scanPlaces(placesFrom(values), { emails, serials, serialHashes, key }, s3)).occurrences
    } finally {
      s3?.close()
    }
    if (values.json === true) console.log(JSON.stringify({ ...receipt, remaining: left }))
    else {
      console.log(formatReceipt(receipt))
      for (const o of left) console.log(`  still stored: ${o.place}: ${o.file}: ${describe(o)}`)
    }
    if (left.length > 0) {
      throw new PipelineError('PIPE_ERR_PRIVACY_REMAINS',
        `every record keyed by the customer's email or serial numbers is erased, but ${left.length} file(s) still hold them ` +
        '(as a value of another record, or the email in another letter case: listed above); decide for each, then run stedi privacy verify')
    }
    return 0
  }
}

function describe (o: Occurrence): string {
  const what = o.kind === 'email-variant' ? 'email in another letter case' : o.kind
  return `${o.count} ${what} occurrence(s) (${o.seen})`
}

function formatReceipt (r: ErasureReceipt): string {
  const lines = [
    `erasure ${r.erasureId} at ${r.erasedAt}: ${r.customers.length} customer(s), ${r.customers.reduce((a, c) => a + c.serials.length, 0)} serial number(s) (receipt kept in the run history; identities as keyed hashes)`,
    `  landing ${r.landing.location}: ${r.landing.filesRewritten} file(s) rewritten, ${r.landing.linesRemoved} line(s) removed`,
    `  lakehouse ${r.lakehouse.location}: ${r.lakehouse.filesRewritten} table file(s) rewritten in ${r.lakehouse.versionsRewritten} version(s); rows removed: ` +
      (Object.entries(r.lakehouse.rowsRemoved).map(([t, n]) => `${t} ${n}`).join(', ') || 'none')
  ]
  for (const g of r.gateways ?? []) lines.push(`  ${String(g.place)}: ${JSON.stringify(g.receipt ?? g)}`)
  lines.push(`  ${r.durationMs} ms`)
  return lines.join('\n')
}

/** What verify and report look for: the emails, their serial numbers in clear, and the tombstones' hashes of serials no record names any more. */
async function needlesFor (emails: string[], places: ScanPlace[], lakehouse: string, values: Record<string, unknown>) {
  const key = await loadPrivacyKey()
  const s3Config = storageFlags(values, places.map((p) => [`--${p.name.split(' ')[0]}`, p.location.kind === 's3' ? p.location.uri : p.location.path]))
  const s3 = s3Config === undefined ? undefined : (await import('../../pipeline/s3/access.js')).openS3Session(s3Config)
  const serials = await serialsInClear(places, emails, s3)
  const serialHashes = new Set<string>()
  const read = await openStateForRead(lakehouse, { s3: s3Config })
  try {
    const tombstones = await read.state.tombstones()
    const recorded = await read.state.getMeta('privacy_key_fingerprint')
    // without the right key, serial numbers known only by hash would go unseen: no proof then
    if (tombstones.length > 0 && key === undefined) {
      throw new PipelineError('PIPE_ERR_PRIVACY_KEY', `${lakehouse} holds tombstones: set STEDI_PRIVACY_KEY (or var/privacy-key) to recognise the erased serial numbers`)
    }
    if (key !== undefined && recorded !== undefined && recorded !== keyFingerprint(key)) {
      throw new PipelineError('PIPE_ERR_PRIVACY_KEY', `the privacy key (fingerprint ${keyFingerprint(key)}) is not the one ${lakehouse}'s tombstones were made with (fingerprint ${recorded})`)
    }
  } catch (err) {
    await read.dispose()
    throw err
  }
  try {
    if (key !== undefined) {
      const emailLabels = new Set(emails.map((e) => identityHash(key, 'email', e).slice(0, 16)))
      const serialLabels = new Set<string>()
      for (const report of await read.state.erasureReports()) {
        for (const c of (report.customers as Array<{ email: string, serials: string[] }> | undefined) ?? []) {
          if (emailLabels.has(c.email)) for (const s of c.serials) serialLabels.add(s)
        }
      }
      for (const t of await read.state.tombstones()) if (t.kind === 'serial' && serialLabels.has(t.hash.slice(0, 16))) serialHashes.add(t.hash)
    }
  } finally {
    await read.dispose()
  }
  return { key, s3, needles: { emails, serials, serialHashes, key } }
}

export const privacyVerify: Command = {
  name: 'privacy verify',
  usage: `stedi privacy verify --email EMAIL [options]

Reads every byte stored in the places given (every landing file, every file of the lakehouse:
Parquet decoded, retained versions and _files/ included, the SQLite state with its free pages and
log; every file of each gateway state) and looks for the customers' emails and serial numbers as
whole values. Serial numbers no record names any more are found by the tombstones' keyed hashes
(needs the privacy key). Exit 0 only when nothing remains; 1 lists where something does.

${PLACE_USAGE}`,
  run: async (argv) => {
    const { values } = parse(argv, PLACE_OPTIONS)
    if (values.help === true) { console.log(privacyVerify.usage); return 0 }
    const emails = await emailsFrom(values)
    const places = placesFrom(values)
    const { key, s3, needles } = await needlesFor(emails, places, values.lakehouse ?? DEFAULT_LAKEHOUSE, values)
    try {
      const result = await scanPlaces(places, needles, s3)
      const summary = {
        clean: result.occurrences.length === 0,
        files: result.files,
        bytes: result.bytes,
        serials: needles.serials.length + needles.serialHashes.size,
        occurrences: result.occurrences
      }
      if (values.json === true) console.log(JSON.stringify(summary))
      else {
        console.log(`scanned ${result.files} files, ${result.bytes} bytes, for ${emails.length} email(s) and ${summary.serials} serial number(s)` +
          (key === undefined ? ' (no privacy key: serial numbers known only by tombstone hash were not looked for)' : ''))
        if (summary.clean) console.log('nothing remains')
        for (const o of result.occurrences) console.log(`  ${o.place}: ${o.file}: ${describe(o)}`)
      }
      if (!summary.clean) {
        throw new PipelineError('PIPE_ERR_PRIVACY_REMAINS', `${result.occurrences.length} file(s) still hold the customer's data (listed above)`)
      }
      return 0
    } finally {
      s3?.close()
    }
  }
}

export const privacyReport: Command = {
  name: 'privacy report',
  usage: `stedi privacy report --email EMAIL [options]

Where a customer's data is, by zone, table and file (the same scan as verify), and whether and
under which research consent date their records are used for training.

${PLACE_USAGE}`,
  run: async (argv) => {
    const { values } = parse(argv, PLACE_OPTIONS)
    if (values.help === true) { console.log(privacyReport.usage); return 0 }
    const emails = await emailsFrom(values)
    const places = placesFrom(values)
    const lakehouse = values.lakehouse ?? DEFAULT_LAKEHOUSE
    const { key, s3, needles } = await needlesFor(emails, places, lakehouse, values)
    try {
      const result = await scanPlaces(places, needles, s3)
      const consent = await consentOf(emails, lakehouse, values)
      const customers = emails.map((e) => ({
        customer: hashLabel(key, 'email', e),
        serialNumbers: needles.serials.length,
        ...consent.get(e)
      }))
      const where = groupByTable(result.occurrences)
      if (values.json === true) { console.log(JSON.stringify({ customers, where })); return 0 }
      for (const c of customers) {
        console.log(`customer ${c.customer}: ${c.used === true ? `used for training under research consent of ${c.consentDate}` : c.known === true ? 'not used for training (no research consent in the latest record)' : 'not in the lakehouse\'s customer tables'}`)
      }
      if (where.length === 0) console.log('no data of theirs is stored in the places given')
      for (const w of where) console.log(`  ${w.place} ${w.zone}${w.table === undefined ? '' : ` ${w.table}`}: ${w.file} (${w.count} occurrence(s))`)
      return 0
    } finally {
      s3?.close()
    }
  }
}

async function consentOf (emails: string[], lakehouse: string, values: Record<string, unknown>): Promise<Map<string, { known: boolean, used: boolean, consentDate?: string }>> {
  const out = new Map(emails.map((e) => [e, { known: false, used: false } as { known: boolean, used: boolean, consentDate?: string }]))
  const snapshot = await openSnapshot(lakehouse, { s3: storageFlags(values, [['--lakehouse', lakehouse]]) }).catch(() => undefined)
  if (snapshot === undefined) return out
  try {
    const list = emails.map((e) => `'${e.replaceAll("'", "''")}'`).join(', ')
    const landing = await querySnapshot(snapshot, `SELECT DISTINCT email FROM customer_landing WHERE email IN (${list})`)
    for (const [e] of landing.rows) out.get(String(e))!.known = true
    const trusted = await querySnapshot(snapshot, `SELECT email, shareWithResearchAsOfDate FROM customer_curated WHERE email IN (${list})`)
    for (const [e, d] of trusted.rows) Object.assign(out.get(String(e))!, { used: true, consentDate: new Date(Number(d)).toISOString() })
  } finally {
    snapshot.close()
  }
  return out
}

function groupByTable (occurrences: readonly Occurrence[]): Array<{ place: string, zone: string, table?: string, file: string, count: number }> {
  const byFile = new Map<string, { place: string, zone: string, table?: string, file: string, count: number }>()
  for (const o of occurrences) {
    const parts = o.file.split('/')
    const zone = o.place === 'lakehouse' ? parts[0] : o.place === 'landing' ? `landing (${parts[0]})` : o.place
    const table = o.place === 'lakehouse' && parts.length > 2 ? parts[1] : undefined
    const k = `${o.place}\u0000${o.file}`
    const entry = byFile.get(k) ?? { place: o.place, zone, table, file: o.file, count: 0 }
    // the decoded Parquet values are the records; raw bytes repeat them (statistics, dictionaries)
    if (o.seen === 'parquet' || !o.file.endsWith('.parquet')) entry.count += o.count
    byFile.set(k, entry)
  }
  return [...byFile.values()]
}

export type { StorageLocation }

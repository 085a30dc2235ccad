// The independent scan behind `stedi privacy verify` and `stedi privacy report`: it reads every
// byte the platform stores in the places it is given (landing, lakehouse, gateway state; folders
// or s3:// prefixes), not the tables an erasure wrote. Every file is read raw (SQLite files with
// their free pages and write-ahead log, Parquet footers with their statistics); Parquet files are
// also decoded, since their pages are compressed. A value counts only as a whole token: erasing
// bob@x.com says nothing of ann.bob@x.com. Serial numbers that no record names any more are
// recognised by the tombstones' keyed hashes.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { type IdentityKind, identityHash } from '../../contracts/privacy.js'
import type { StorageLocation } from '../../common/storage-location.js'
import { createDuckDbEngine, type SqlEngine, sqlString } from '../engine/duckdb.js'
import { PipelineError } from '../errors.js'
import type { S3Session } from '../s3/access.js'

export interface ScanPlace { name: string, location: StorageLocation }

export interface Needles {
  emails: readonly string[]
  /** serial numbers known in clear */
  serials: readonly string[]
  /** keyed hashes of serial numbers (from tombstones), tested against every token when a key is given */
  serialHashes?: ReadonlySet<string>
  key?: Uint8Array
}

/** email-variant: the email in another letter case (the same mailbox to most mail systems, another customer to the pipeline) */
export type OccurrenceKind = IdentityKind | 'email-variant'

export interface Occurrence {
  place: string
  /** path below the place's root */
  file: string
  kind: OccurrenceKind
  /** how it was seen: in the raw bytes, or in a decoded Parquet value */
  seen: 'bytes' | 'parquet'
  count: number
}

export interface ScanResult { files: number, bytes: number, occurrences: Occurrence[] }

const TOKEN = /[A-Za-z0-9._%+\-@]+/g
const PARQUET_MAGIC = 'PAR1'

const TOKEN_CHAR = /[A-Za-z0-9._%+\-@]/
const NUMERIC = /^[-+0-9.eE]+$/

class TokenMatcher {
  private readonly cache = new Map<string, boolean>()
  private readonly clear: Array<[string, IdentityKind]>
  private readonly clearSet: Set<string>
  private readonly hashed: boolean
  private readonly emailSet: Set<string>
  private readonly lowerEmails: string[]
  constructor (private readonly needles: Needles) {
    this.emailSet = new Set(needles.emails)
    this.lowerEmails = [...new Set(needles.emails.map((e) => e.toLowerCase()))]
    this.clear = [...needles.emails.map((e) => [e, 'email'] as [string, IdentityKind]), ...needles.serials.map((s) => [s, 'serial'] as [string, IdentityKind])]
    this.clearSet = new Set(this.clear.map(([v]) => v))
    this.hashed = needles.key !== undefined && (needles.serialHashes?.size ?? 0) > 0
  }

  private isHashedSerial (token: string): boolean {
    let hit = this.cache.get(token)
    if (hit === undefined) {
      hit = this.needles.serialHashes!.has(identityHash(this.needles.key!, 'serial', token))
      this.cache.set(token, hit)
    }
    return hit
  }

  count (text: string, into: Map<OccurrenceKind, number>, times = 1): void {
    this.countClear(text, into, times)
    // a JSON string may spell a value with escapes ("\u0040" for "@"): those strings are read decoded too
    if (text.includes('\\')) {
      for (const literal of text.matchAll(JSON_STRING)) {
        if (!literal[1].includes('\\')) continue
        let decoded: string
        try { decoded = JSON.parse(`"${literal[1]}"`) as string } catch { continue }
        this.countClear(decoded, into, times)
        this.countHashed(decoded, into, times)
      }
    }
    this.countHashed(text, into, times)
  }

  private countClear (text: string, into: Map<OccurrenceKind, number>, times: number): void {
    // values known in clear: found where they occur, then held to whole-token boundaries
    for (const [value, kind] of this.clear) {
      for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + 1)) {
        if (wholeToken(text, at, value.length)) into.set(kind, (into.get(kind) ?? 0) + times)
      }
    }
    // an email in another case is not the pipeline's customer, but it may be the person: reported apart
    if (this.lowerEmails.length === 0) return
    const lower = text.toLowerCase()
    for (const value of this.lowerEmails) {
      for (let at = lower.indexOf(value); at !== -1; at = lower.indexOf(value, at + 1)) {
        if (wholeToken(lower, at, value.length) && !this.emailSet.has(text.slice(at, at + value.length))) {
          into.set('email-variant', (into.get('email-variant') ?? 0) + times)
        }
      }
    }
  }

  private countHashed (text: string, into: Map<OccurrenceKind, number>, times: number): void {
    if (!this.hashed) return
    // serial numbers known only by their tombstone's hash: every token is a candidate (numbers are
    // not: a reading's time or distance is never a serial number, and they are most of the tokens)
    for (const m of text.matchAll(TOKEN)) {
      const token = m[0].replace(/\.+$/, '')
      if (token.length < 4 || NUMERIC.test(token) || this.clearSet.has(token)) continue
      if (this.isHashedSerial(token)) into.set('serial', (into.get('serial') ?? 0) + times)
    }
  }
}

const JSON_STRING = /"((?:[^"\\]|\\.)*)"/g

function wholeToken (text: string, at: number, length: number): boolean {
  const before = at === 0 ? '' : text[at - 1]
  const after = text[at + length] ?? ''
  return !(TOKEN_CHAR.test(before) || (TOKEN_CHAR.test(after) && after !== '.'))
}

export async function scanPlaces (places: readonly ScanPlace[], needles: Needles, s3: S3Session | undefined): Promise<ScanResult> {
  const matcher = new TokenMatcher(needles)
  const result: ScanResult = { files: 0, bytes: 0, occurrences: [] }
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'stedi-scan-'))
  const engine = await createDuckDbEngine({ threads: 1, memoryLimitMb: 256, tempDir: scratch })
  try {
    for (const place of places) {
      for await (const file of filesOf(place.name, place.location, s3, scratch)) {
        result.files++
        result.bytes += file.bytes.length
        const found = new Map<OccurrenceKind, number>()
        matcher.count(file.bytes.toString('utf8'), found)
        for (const [kind, count] of found) result.occurrences.push({ place: place.name, file: file.rel, kind, count, seen: 'bytes' })
        if (file.bytes.subarray(0, 4).toString('latin1') === PARQUET_MAGIC) {
          const decoded = await parquetTokens(engine, file.local, matcher)
          for (const [kind, count] of decoded) result.occurrences.push({ place: place.name, file: file.rel, kind, count, seen: 'parquet' })
        }
        await file.done()
      }
    }
  } finally {
    engine.close()
    await fs.rm(scratch, { recursive: true, force: true })
  }
  return result
}

async function parquetTokens (engine: SqlEngine, file: string, matcher: TokenMatcher): Promise<Map<OccurrenceKind, number>> {
  const found = new Map<OccurrenceKind, number>()
  const read = `read_parquet(${sqlString(file)})`
  const columns = await engine.rows<{ column_name: string, column_type: string }>(`DESCRIBE SELECT * FROM ${read}`)
  for (const c of columns) {
    if (c.column_type !== 'VARCHAR') continue
    const q = `"${c.column_name.replaceAll('"', '""')}"`
    const values = await engine.rows<{ v: string, n: number }>(`SELECT ${q} AS v, count(*) AS n FROM ${read} WHERE ${q} IS NOT NULL GROUP BY 1`)
    for (const { v, n } of values) matcher.count(v, found, Number(n))
  }
  return found
}

function missing (place: string, where: string): PipelineError {
  const kind = place.split(' ')[0]
  const code = kind === 'landing' ? 'PIPE_ERR_LANDING_MISSING' : kind === 'lakehouse' ? 'PIPE_ERR_LAKEHOUSE_MISSING' : 'PIPE_ERR_BAD_OPTION'
  return new PipelineError(code, `${place}: ${where} does not exist or holds nothing: check the path (a scan of nothing proves nothing)`, { path: where })
}

interface StoredFile { rel: string, bytes: Buffer, local: string, done: () => Promise<void> }

async function * filesOf (name: string, location: StorageLocation, s3: S3Session | undefined, scratch: string): AsyncGenerator<StoredFile> {
  if (location.kind === 'local') {
    const root = location.path
    const exists = await fs.stat(root).then((st) => st.isDirectory(), () => false)
    // a mistyped folder must not pass for an empty one: a scan of nothing proves nothing
    if (!exists) throw missing(name, root)
    for (const entry of await fs.readdir(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue
      const local = path.join(entry.parentPath, entry.name)
      const bytes = await fs.readFile(local).catch(() => undefined)
      if (bytes === undefined) continue
      yield { rel: path.relative(root, local), bytes, local, done: async () => {} }
    }
    return
  }
  const bucket = s3!.bucket(location.bucket)
  const prefix = location.prefix === '' ? '' : `${location.prefix}/`
  const objects = await bucket.list(prefix)
  if (objects.length === 0) throw missing(name, location.uri)
  for (const o of objects) {
    const got = await bucket.getBytes(o.key)
    if (got === undefined) continue
    const local = path.join(scratch, 'object')
    await fs.writeFile(local, got.body)
    yield { rel: o.key.slice(prefix.length), bytes: got.body, local, done: async () => { await fs.rm(local, { force: true }) } }
  }
}

/**
 * Serial numbers the customers' records name in clear, wherever a record shows both (a landing
 * line, a customer table row): what verify looks for beside the email before an erasure.
 */
export async function serialsInClear (places: readonly ScanPlace[], emails: readonly string[], s3: S3Session | undefined): Promise<string[]> {
  const serials = new Set<string>()
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'stedi-scan-'))
  const engine = await createDuckDbEngine({ threads: 1, memoryLimitMb: 256, tempDir: scratch })
  try {
    for (const place of places) {
      for await (const file of filesOf(place.name, place.location, s3, scratch)) {
        if (emails.some((e) => file.bytes.includes(e)) || file.bytes.includes(0x5c)) {
          if (file.bytes.subarray(0, 4).toString('latin1') === PARQUET_MAGIC) {
            const cols = (await engine.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file.local)})`)).map((c) => c.column_name)
            if (cols.includes('email') && cols.includes('serialNumber')) {
              const rows = await engine.rows<{ s: string }>(`SELECT DISTINCT serialNumber AS s FROM read_parquet(${sqlString(file.local)})
                WHERE email IN (${emails.map(sqlString).join(', ')}) AND serialNumber IS NOT NULL`)
              for (const r of rows) if (r.s !== '') serials.add(r.s)
            }
          } else {
            for (const line of file.bytes.toString('utf8').split('\n')) {
              if (!emails.some((e) => line.includes(e)) && !line.includes('\\')) continue
              try {
                const r = JSON.parse(line.replace(/^\uFEFF/, '')) as { email?: unknown, serialNumber?: unknown }
                if (typeof r.email === 'string' && emails.includes(r.email) && typeof r.serialNumber === 'string' && r.serialNumber !== '') serials.add(r.serialNumber)
              } catch { /* not a record */ }
            }
          }
        }
        await file.done()
      }
    }
  } finally {
    engine.close()
    await fs.rm(scratch, { recursive: true, force: true })
  }
  return [...serials].sort()
}


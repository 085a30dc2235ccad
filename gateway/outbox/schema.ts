// The gateway state's tables, in two SQLite files so that the ack path and the ledger never wait
// for each other (one writer per file; each file's writer runs on its own worker thread), and the
// upgrade of a state written by the previous release.
//
// gateway.sqlite, the outbox:
// segments          the accepted records of one group commit and one dataset, as one NDJSON text:
//                   the durable queue, and for the retention window what the ledger shows.
// segment_messages  per segment, the messages it holds (who sent what, where in the text), written
//                   in the same commit; the ledger is built from it after the acknowledgement.
// flushes           landing files: which segments they hold, which of their lines were found to be
//                   redeliveries (skips, copied from the ledger at the claim, so that a flush can be
//                   written again from the outbox alone), where each segment and each part starts.
//
// ledger.sqlite, the ledger:
// deliveries        one row per distinct message with a seq (device, seq, content hash);
//                   count = how many times it was delivered.
// delivery_groups   the same for messages without a seq, one row per device and segment, its
//                   messages a JSON list (delivery-store.ts says why).
// skips             per segment, the line ranges of messages the ledger found to be redeliveries.
// rejections        refused readings and messages, itemized (capped per device), with their seq.
// rejection_totals  what the per-device cap did not itemize, counted by device, reason and hour.
import fs from 'node:fs/promises'
import type { Database } from '../../common/sqlite.js'
import { contentHash } from './content-key.js'

export const SCHEMA_VERSION = 2
export const OUTBOX_FILE = 'gateway.sqlite'
export const LEDGER_FILE = 'ledger.sqlite'

const OUTBOX_TABLES = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  records INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  lines TEXT NOT NULL,
  received_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_dataset ON segments (dataset, id);
CREATE TABLE IF NOT EXISTS segment_messages (
  segment INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  messages TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS flushes (
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  name TEXT NOT NULL,
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,
  records INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  done_ms INTEGER
);
CREATE INDEX IF NOT EXISTS flushes_range ON flushes (dataset, last_id);
`

/** Columns added to tables the previous release made. */
const ADDED_COLUMNS: Array<[table: string, column: string, ddl: string]> = [
  ['flushes', 'offsets', 'TEXT'],
  ['flushes', 'parts', 'TEXT'],
  ['flushes', 'skips', 'TEXT'],
  ['flushes', 'split', 'TEXT']
]

// Both delivery indexes grow where a device's newest entries are (its seq and its reading times
// increase), not at random places as an index on content hashes would: a fraction of the cost a row.
const LEDGER_TABLES = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY,
  device TEXT NOT NULL,
  seq INTEGER,
  hash TEXT NOT NULL,
  segment INTEGER,
  first_line INTEGER,
  records INTEGER NOT NULL,
  byte_start INTEGER,
  byte_len INTEGER,
  min_ts INTEGER,
  max_ts INTEGER,
  received_ms INTEGER NOT NULL,
  count INTEGER NOT NULL DEFAULT 1,
  conflict INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_time ON deliveries (device, min_ts);
CREATE INDEX IF NOT EXISTS deliveries_seq ON deliveries (device, seq) WHERE seq IS NOT NULL;
CREATE TABLE IF NOT EXISTS delivery_groups (
  id INTEGER PRIMARY KEY,
  device TEXT NOT NULL,
  segment INTEGER,
  min_ts INTEGER,
  max_ts INTEGER,
  received_ms INTEGER NOT NULL,
  members TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_groups_time ON delivery_groups (device, max_ts);
CREATE TABLE IF NOT EXISTS skips (segment INTEGER PRIMARY KEY, ranges TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejections (
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  device TEXT NOT NULL,
  seq INTEGER,
  idx INTEGER,
  ts INTEGER,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  acknowledged INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS rejections_device ON rejections (device, seq, ts);
CREATE INDEX IF NOT EXISTS rejections_time ON rejections (device, ts);
CREATE TABLE IF NOT EXISTS rejection_totals (
  device TEXT NOT NULL,
  reason TEXT NOT NULL,
  hour_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (device, reason, hour_ms)
) WITHOUT ROWID;
`

async function columns (db: Database, table: string): Promise<Set<string>> {
  return new Set((await db.all<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`)).map((c) => c.name))
}

const hasTable = async (db: Database, schema: string, name: string): Promise<boolean> =>
  (await db.get(`SELECT 1 AS yes FROM ${schema}.sqlite_master WHERE type = 'table' AND name = ?`, [name])) !== undefined

/**
 * Makes both files current. `outbox` is a connection to gateway.sqlite; the ledger file is
 * attached to it for the upgrade. A state of the previous release (version 1: one file, deliveries
 * keyed by seq alone and written on the ack path) keeps all it holds: its deliveries and rejections
 * move to the ledger, and each delivery gets the content hash of what it delivered, recomputed
 * from its segment's lines and its recorded refusals, so that redeliveries are still recognised.
 * The ledger is made whole first and the outbox is marked upgraded last, so an upgrade cut short
 * starts over from a fresh ledger file.
 */
export async function migrate (outbox: Database, ledgerPath: string): Promise<{ from: number, to: number }> {
  const hadMeta = await hasTable(outbox, 'main', 'meta')
  const versionRow = hadMeta ? await outbox.get<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'") : undefined
  const from = versionRow !== undefined ? Number(versionRow.value) : (await hasTable(outbox, 'main', 'deliveries')) ? 1 : 0
  if (from > SCHEMA_VERSION) {
    throw new Error(`the state was written by a newer gateway (schema ${from}; this one reads up to ${SCHEMA_VERSION})`)
  }
  if (from === 1) {
    // a ledger file beside a version-1 outbox is the remains of an upgrade cut short
    for (const suffix of ['', '-wal', '-shm']) await fs.rm(ledgerPath + suffix, { force: true })
  }
  await outbox.run('ATTACH DATABASE ? AS ledger', [ledgerPath])
  try {
    await outbox.exec('PRAGMA ledger.journal_mode = WAL')
    await outbox.exec(`BEGIN IMMEDIATE; ${LEDGER_TABLES.replaceAll('IF NOT EXISTS ', 'IF NOT EXISTS ledger.').replaceAll(' ON ledger.', ' ON ')}`)
    try {
      if (from === 1) await upgradeLedger(outbox)
      await outbox.run("INSERT OR IGNORE INTO ledger.meta (key, value) VALUES ('indexed_through', ?)",
        [from === 1 ? String((await outbox.get<{ id: number | null }>('SELECT max(id) AS id FROM main.segments'))?.id ?? 0) : '0'])
      await outbox.exec('COMMIT')
    } catch (err) {
      await outbox.exec('ROLLBACK').catch(() => undefined)
      throw err
    }
    await outbox.exec(`BEGIN IMMEDIATE; ${OUTBOX_TABLES}`)
    try {
      for (const [table, column, ddl] of ADDED_COLUMNS) {
        if (!(await columns(outbox, table)).has(column)) await outbox.exec(`ALTER TABLE main.${table} ADD COLUMN ${column} ${ddl}`)
      }
      if (from === 1) await outbox.exec('DROP TABLE main.deliveries; DROP TABLE main.rejections;')
      await outbox.run("INSERT OR REPLACE INTO main.meta (key, value) VALUES ('schema_version', ?)", [String(SCHEMA_VERSION)])
      await outbox.exec('COMMIT')
    } catch (err) {
      await outbox.exec('ROLLBACK').catch(() => undefined)
      throw err
    }
  } finally {
    await outbox.exec('DETACH DATABASE ledger').catch(() => undefined)
  }
  return { from, to: SCHEMA_VERSION }
}

/** The DDL of the ledger, for a connection that has it as its main database. */
export const ledgerSchema = (): string => LEDGER_TABLES

interface V1Delivery { device: string, dkey: string, segment: number | null, first_line: number | null, records: number, min_ts: number | null, max_ts: number | null, received_ms: number, count: number }

async function upgradeLedger (db: Database): Promise<void> {
  const rows = await db.all<V1Delivery>('SELECT * FROM main.deliveries ORDER BY rowid')
  const segmentLines = new Map<number, string[]>()
  const linesOf = async (segment: number): Promise<string[]> => {
    let lines = segmentLines.get(segment)
    if (lines === undefined) {
      const row = await db.get<{ lines: string }>('SELECT lines FROM main.segments WHERE id = ?', [segment])
      lines = row === undefined ? [] : row.lines.split('\n').filter((l) => l !== '')
      segmentLines.set(segment, lines)
    }
    return lines
  }
  const out: unknown[][] = []
  const groups: unknown[][] = []
  for (const d of rows) {
    // the previous release hashed differently (SHA-1 of the lines): recomputed from what it delivered
    const lines = d.segment === null ? [] : (await linesOf(d.segment)).slice(d.first_line ?? 0, (d.first_line ?? 0) + d.records)
    const refused = d.dkey.startsWith('h:')
      ? []
      : await db.all<{ idx: number | null, reason: string }>('SELECT idx, reason FROM main.rejections WHERE device = ? AND seq = ? ORDER BY id', [d.device, Number(d.dkey.slice(2))])
    const hash = contentHash(lines, refused.map((r) => ({ index: r.idx, reason: r.reason })))
    if (d.dkey.startsWith('s:')) out.push([d.device, Number(d.dkey.slice(2)), hash, d.segment, d.first_line, d.records, d.min_ts, d.max_ts, d.received_ms, d.count])
    else groups.push([d.device, d.segment, d.min_ts, d.max_ts, d.received_ms, JSON.stringify([[hash, d.min_ts, d.max_ts, d.first_line, d.records, null, null, d.count]])])
  }
  for (let i = 0; i < out.length; i += 5000) {
    await db.run(
      `INSERT INTO ledger.deliveries (device, seq, hash, segment, first_line, records, min_ts, max_ts, received_ms, count)
       SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9 FROM json_each(?)`,
      [JSON.stringify(out.slice(i, i + 5000))])
  }
  for (let i = 0; i < groups.length; i += 5000) {
    await db.run(
      `INSERT INTO ledger.delivery_groups (device, segment, min_ts, max_ts, received_ms, members)
       SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM json_each(?)`, [JSON.stringify(groups.slice(i, i + 5000))])
  }
  await db.exec(`INSERT INTO ledger.rejections (dataset, device, seq, idx, ts, reason, detail, received_ms)
    SELECT dataset, device, seq, idx, ts, reason, detail, received_ms FROM main.rejections ORDER BY id`)
}

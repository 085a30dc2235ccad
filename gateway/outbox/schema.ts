// The gateway state's tables, and the upgrade of a state written by the previous release.
//
// segments          the accepted records of one group commit and one dataset, as one NDJSON text:
//                   the durable queue, and for the retention window what the ledger shows.
// segment_messages  per segment, the messages it holds (who sent what, where in the text), written
//                   in the same commit; the ledger is built from it after the acknowledgement.
//                   skips: the messages the ledger found to be redeliveries (their lines never land).
// deliveries        the ledger: one row per distinct message: device, seq (or, without one, its first
//                   reading time) and content hash; count = how many times it was delivered.
// rejections        refused readings and messages, itemized (capped per device), with their seq.
// rejection_totals  what the per-device cap did not itemize, counted by device, reason and hour.
// flushes           landing files: which segments they hold, where each segment starts, the parts.
import type { Database } from '../../common/sqlite.js'
import { contentHash } from './content-key.js'

export const SCHEMA_VERSION = 2

const TABLES = `
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
  messages TEXT NOT NULL,
  skips TEXT
);
CREATE TABLE IF NOT EXISTS rejections (
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  device TEXT NOT NULL,
  seq INTEGER,
  idx INTEGER,
  ts INTEGER,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  received_ms INTEGER NOT NULL
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

const DELIVERIES = (name: string): string => `
CREATE TABLE ${name} (
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
);`

// Both indexes grow where a device's newest entries are (its seq and its reading times increase),
// not at random places as an index on content hashes would: a fraction of the cost per row.
// A message with a seq is found by it; one without, by its first reading time and its hash.
const DELIVERY_INDEXES = `
CREATE INDEX IF NOT EXISTS deliveries_time ON deliveries (device, min_ts);
CREATE INDEX IF NOT EXISTS deliveries_seq ON deliveries (device, seq) WHERE seq IS NOT NULL;
`

/** Columns added to tables the previous release made. */
const ADDED_COLUMNS: Array<[table: string, column: string, ddl: string]> = [
  ['rejections', 'acknowledged', 'INTEGER NOT NULL DEFAULT 1'],
  ['flushes', 'offsets', 'TEXT'],
  ['flushes', 'parts', 'TEXT']
]

async function columns (db: Database, table: string): Promise<Set<string>> {
  return new Set((await db.all<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`)).map((c) => c.name))
}

/**
 * Makes the schema current, in one transaction: a new state gets every table; a state of the
 * previous release (version 1: deliveries keyed by seq alone, written on the ack path) keeps all it
 * holds, and each of its deliveries gets the content hash of what it delivered, recomputed from
 * its segment's lines and its recorded refusals, so that redeliveries are still recognised.
 */
export async function migrate (db: Database): Promise<{ from: number, to: number }> {
  await db.exec('BEGIN IMMEDIATE')
  try {
    const hadMeta = (await db.get("SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = 'meta'")) !== undefined
    const hadDeliveries = (await db.get("SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'")) !== undefined
    const versionRow = hadMeta ? await db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'") : undefined
    const from = versionRow !== undefined ? Number(versionRow.value) : hadDeliveries ? 1 : 0
    if (from > SCHEMA_VERSION) {
      throw new Error(`the state was written by a newer gateway (schema ${from}; this one reads up to ${SCHEMA_VERSION})`)
    }
    await db.exec(TABLES)
    for (const [table, column, ddl] of ADDED_COLUMNS) {
      if (!(await columns(db, table)).has(column)) await db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${ddl}`)
    }
    if (from === 0) {
      await db.exec(DELIVERIES('deliveries'))
    } else if (from === 1) {
      await upgradeDeliveries(db)
      // the previous release deduplicated on the ack path: everything it accepted is in the ledger
      await db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('indexed_through', (SELECT coalesce(max(id), 0) FROM segments))")
    }
    await db.exec(DELIVERY_INDEXES)
    await db.run("INSERT OR IGNORE INTO meta (key, value) VALUES ('indexed_through', '0')")
    await db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", [String(SCHEMA_VERSION)])
    await db.exec('COMMIT')
    return { from, to: SCHEMA_VERSION }
  } catch (err) {
    await db.exec('ROLLBACK').catch(() => undefined)
    throw err
  }
}

interface V1Delivery { device: string, dkey: string, segment: number | null, first_line: number | null, records: number, min_ts: number | null, max_ts: number | null, received_ms: number, count: number }

async function upgradeDeliveries (db: Database): Promise<void> {
  await db.exec(DELIVERIES('deliveries_v2'))
  const rows = await db.all<V1Delivery>('SELECT * FROM deliveries ORDER BY rowid')
  const segmentLines = new Map<number, string[]>()
  const linesOf = async (segment: number): Promise<string[]> => {
    let lines = segmentLines.get(segment)
    if (lines === undefined) {
      const row = await db.get<{ lines: string }>('SELECT lines FROM segments WHERE id = ?', [segment])
      lines = row === undefined ? [] : row.lines.split('\n').filter((l) => l !== '')
      segmentLines.set(segment, lines)
    }
    return lines
  }
  const out: unknown[][] = []
  for (const d of rows) {
    let hash: string
    if (d.dkey.startsWith('h:')) {
      hash = d.dkey.slice(2)
    } else {
      const lines = d.segment === null ? [] : (await linesOf(d.segment)).slice(d.first_line ?? 0, (d.first_line ?? 0) + d.records)
      const refused = await db.all<{ idx: number | null, reason: string }>(
        'SELECT idx, reason FROM rejections WHERE device = ? AND seq = ? ORDER BY id', [d.device, Number(d.dkey.slice(2))])
      hash = contentHash(lines, refused.map((r) => ({ index: r.idx, reason: r.reason })))
    }
    out.push([d.device, d.dkey.startsWith('s:') ? Number(d.dkey.slice(2)) : null, hash, d.segment, d.first_line, d.records, d.min_ts, d.max_ts, d.received_ms, d.count])
  }
  for (let i = 0; i < out.length; i += 5000) {
    await db.run(
      `INSERT INTO deliveries_v2 (device, seq, hash, segment, first_line, records, min_ts, max_ts, received_ms, count)
       SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9 FROM json_each(?)`,
      [JSON.stringify(out.slice(i, i + 5000))])
  }
  await db.exec('DROP TABLE deliveries; ALTER TABLE deliveries_v2 RENAME TO deliveries;')
}

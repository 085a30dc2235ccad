// How long the state keeps what has landed, and how large it may grow. Landed segments, their
// ledger rows and rejections go after the retention window (they stop deduplicating then), a few
// thousand rows per transaction so the ack path is never held up for long. Above the size budget
// the oldest landed data goes early, and readiness says so; what has not landed is never deleted.
import { DATASET_NAMES } from '../../contracts/datasets.js'
import type { Database } from '../../common/sqlite.js'
import type { StateWriter } from './writer.js'

const CHUNK = 5_000
/** deleting what landed long ago can be redone after a crash: no need to wait for the disk */
const LAZY = { durable: false }

export interface StateUsage {
  /** bytes of pages in use (the file, less its free pages) plus the write-ahead log */
  usedBytes: number
  fileBytes: number
}

export async function stateUsage (reader: Database): Promise<StateUsage> {
  let usedBytes = 0
  let fileBytes = 0
  for (const schema of ['main', 'ledger']) {
    const pages = (await reader.get<{ page_count: number }>(`PRAGMA ${schema}.page_count`))?.page_count ?? 0
    const free = (await reader.get<{ freelist_count: number }>(`PRAGMA ${schema}.freelist_count`))?.freelist_count ?? 0
    const size = (await reader.get<{ page_size: number }>(`PRAGMA ${schema}.page_size`))?.page_size ?? 4096
    usedBytes += (pages - free) * size
    fileBytes += pages * size
  }
  return { usedBytes, fileBytes }
}

/**
 * Deletes landed data received before olderThanMs. Returns the segments removed. Each dataset keeps
 * its newest flush row (it says where claiming resumes).
 */
export async function pruneLanded (writer: StateWriter, ledger: StateWriter, olderThanMs: number): Promise<number> {
  let removed = 0
  for (const dataset of DATASET_NAMES) {
    const done = await writer.exclusive(async () => await writer.db.get<{ last: number | null }>(
      'SELECT max(last_id) AS last FROM flushes WHERE dataset = ? AND done_ms IS NOT NULL AND created_ms < ?', [dataset, olderThanMs]))
    if (done?.last == null) continue
    for (;;) {
      const n = await writer.transaction(async (db) => {
        const ids = await db.all<{ id: number }>('SELECT id FROM segments WHERE dataset = ? AND id <= ? ORDER BY id LIMIT ?', [dataset, done.last, CHUNK])
        if (ids.length === 0) return 0
        const top = ids[ids.length - 1].id
        await db.run('DELETE FROM segments WHERE dataset = ? AND id <= ?', [dataset, top])
        await db.run('DELETE FROM segment_messages WHERE dataset = ? AND segment <= ?', [dataset, top])
        return ids.length
      }, LAZY)
      removed += n
      if (n < CHUNK) break
    }
    await writer.transaction(async (db) => await db.run('DELETE FROM flushes WHERE dataset = ? AND last_id < ? AND done_ms IS NOT NULL', [dataset, done.last]), LAZY)
  }
  // ledger rows in the order they were written (about the order they arrived), never one whose
  // records still wait in a segment
  const alive = await writer.exclusive(async () => await writer.db.get<{ id: number | null }>('SELECT min(id) AS id FROM segments'))
  const firstAlive = alive?.id ?? Number.MAX_SAFE_INTEGER
  for (const table of ['deliveries', 'delivery_groups', 'rejections', 'skips'] as const) {
    for (;;) {
      const n = await ledger.transaction(async (db) => (await db.run(table === 'skips'
        ? `DELETE FROM skips WHERE segment IN (SELECT segment FROM skips WHERE segment < ? ORDER BY segment LIMIT ${CHUNK})`
        : `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE received_ms < ? ORDER BY id LIMIT ${CHUNK})` +
          (table !== 'rejections' ? ' AND (segment IS NULL OR segment < ?)' : ''),
      table === 'skips' ? [firstAlive] : table === 'rejections' ? [olderThanMs] : [olderThanMs, firstAlive])).changes, LAZY)
      if (n < CHUNK) break
    }
  }
  await ledger.transaction(async (db) => await db.run('DELETE FROM rejection_totals WHERE hour_ms < ?', [olderThanMs - 3_600_000]), LAZY)
  return removed
}

/** The received time of the oldest landed data still kept, or undefined when nothing landed is kept. */
export async function oldestLandedMs (db: Database): Promise<number | undefined> {
  const row = await db.get<{ t: number | null }>(
    `SELECT min(t) AS t FROM (SELECT (SELECT received_ms FROM ledger.deliveries ORDER BY id LIMIT 1) AS t
                              UNION ALL SELECT (SELECT received_ms FROM ledger.delivery_groups ORDER BY id LIMIT 1))`)
  return row?.t ?? undefined
}

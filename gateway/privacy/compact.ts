// After the deletes: no deleted byte may survive in a SQLite file's free pages or its write-ahead
// log. secure_delete zeroes what is freed from then on; VACUUM rewrites the file from its live rows;
// the TRUNCATE checkpoints before and after empty the log (the one before so that VACUUM starts
// from a short log, the one after so that the old pages' frames are gone from disk).
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Database } from '../../common/sqlite.js'

const sizeOf = async (file: string): Promise<number> => {
  let n = 0
  for (const suffix of ['', '-wal']) n += await fs.stat(file + suffix).then((s) => s.size, () => 0)
  return n
}

async function checkpointTruncate (db: Database): Promise<void> {
  // another connection's passive checkpoint may be running: it ends in milliseconds
  for (let attempt = 0; ; attempt++) {
    const r = await db.get<{ busy: number }>('PRAGMA wal_checkpoint(TRUNCATE)')
    if (r === undefined || r.busy === 0 || attempt >= 50) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Compacts one database through a connection that holds no transaction; returns its sizes. */
export async function compactDatabase (db: Database): Promise<{ file: string, bytesBefore: number, bytesAfter: number }> {
  const bytesBefore = await sizeOf(db.file)
  await db.exec('PRAGMA secure_delete = ON')
  await checkpointTruncate(db)
  await db.exec('VACUUM')
  await checkpointTruncate(db)
  return { file: path.basename(db.file), bytesBefore, bytesAfter: await sizeOf(db.file) }
}

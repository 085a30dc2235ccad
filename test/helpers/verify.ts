// `stedi pipeline verify` as the tests run it (with --json, the report parsed), and a table file
// tampered with, as drift would leave it.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { TableName } from '../../contracts/lakehouse.js'
import { createDuckDbEngine, sqlString } from '../../pipeline/engine/duckdb.js'
import { openStateForRead } from '../../pipeline/snapshot.js'
import { type CliResult, cli } from './index.js'

export interface VerifiedTable { table: string, equal: boolean, current: number, recomputed: number, onlyCurrent: number, onlyRecomputed: number, examples?: { current: unknown[], recomputed: unknown[] } }
export interface Verified {
  ok: boolean
  drift: string[]
  tables: VerifiedTable[]
  source: { runId: number, startedAt: string, consentPolicy: string, mlJoin: string }
  landingFiles: Record<string, number>
  leftOut: string[]
}

/** `stedi pipeline verify ARGS --json`, with its report when it printed one. */
export async function verify (args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult & { report?: Verified }> {
  const r = await cli(['pipeline', 'verify', ...args, '--json'], { env })
  try {
    return { ...r, report: JSON.parse(r.stdout) as Verified }
  } catch {
    return r
  }
}

export const tableOf = (report: Verified | undefined, name: TableName): VerifiedTable | undefined => report?.tables.find((x) => x.table === name)

/** Rewrites a Parquet file in place through a SELECT over it (`f` is the read_parquet of the file). */
export async function rewriteParquet (file: string, select: (f: string) => string): Promise<void> {
  const engine = await createDuckDbEngine({ threads: 1, memoryLimitMb: 256, tempDir: os.tmpdir() })
  try {
    await engine.exec(`COPY (${select(`read_parquet(${sqlString(file)})`)}) TO ${sqlString(`${file}.rewritten`)} (FORMAT parquet)`)
  } finally {
    engine.close()
  }
  await fs.rename(`${file}.rewritten`, file)
}

/** The first file of a table's current version, rewritten through a SELECT: the lakehouse tampered with. */
export async function tamper (lakehouse: string, table: TableName, select: (f: string) => string): Promise<void> {
  const { state, dispose } = await openStateForRead(lakehouse)
  const rel = (await state.currentVersions()).get(table)!.files[0]
  await dispose()
  await rewriteParquet(path.join(lakehouse, rel), select)
}

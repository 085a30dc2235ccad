// Turns new landing files into one landing part and one quarantine part per dataset.
// Two reading paths give the same records. The fast path streams whole files through DuckDB's
// read_json (which refuses anything that is not one JSON object per line) straight into a staging
// part, checking field types with cheap string tests and marking a row that fails with _run = -1.
// A file with a marked row, or whose record count differs from its non-blank line count, goes to
// the line path, which reads every line on its own and quarantines each bad one with its line
// number and reason; the staging part is then rewritten without that file. In the common case (no
// bad file) the staging part simply becomes the landing part. The line path is the reference;
// the tests hold the fast path to it.
import fs from 'node:fs/promises'
import type { DatasetSpec } from '../../contracts/datasets.js'
import { lineageColumns } from '../../contracts/lakehouse.js'
import { type SqlEngine, sqlString, sqlStringList } from '../engine/duckdb.js'
import { isPipelineError } from '../errors.js'
import type { ScannedFile } from './prescan.js'
import { INVALID_UTF8_MARK, INVALID_UTF8_MARK_SQL, fieldCheck, fieldReason, fieldValue, jsonColumns, jsonPaths, quoteIdent } from './validate-sql.js'

export interface FileOutcome { records: number, quarantined: number }

export interface IngestResult {
  records: number
  quarantined: number
  perFile: Map<string, FileOutcome>
  /** files read by the fast path and by the line path */
  fastFiles: number
  lineFiles: number
}

export interface IngestTargets {
  landingPart: string
  quarantinePart: string
  /** a scratch file for the fast path's output */
  stagingPart: string
  /** moves a finished staging part to be the landing part (default: a rename) */
  placeStaging?: (stagingPart: string) => Promise<void>
}

/** A fast-path failure names at most this many bad files before all the rest go to the line path. */
const MAX_FAST_RETRIES = 4

export async function ingestDataset (
  engine: SqlEngine,
  spec: DatasetSpec,
  landingRoot: string,
  files: readonly ScannedFile[],
  runId: number,
  targets: IngestTargets
): Promise<{ result: IngestResult, wroteLanding: boolean, wroteQuarantine: boolean }> {
  const withLines = files.filter((f) => f.nonBlankLines > 0)
  const fastCandidates = withLines.filter((f) => f.fastPath !== null)
  const fast = await readFast(engine, spec, landingRoot, fastCandidates, runId, targets.stagingPart)
  const lineFiles = [...withLines.filter((f) => !fastCandidates.includes(f)), ...fast.rejected]
  const lines = `ingest_${spec.name}_lines`
  await readLines(engine, spec, lines, lineFiles, runId)

  const perFile = new Map<string, FileOutcome>(files.map((f) => [f.relPath, { records: 0, quarantined: 0 }]))
  for (const [file, records] of fast.counts) perFile.set(file, { records, quarantined: 0 })
  const lineCounts = await engine.rows<{ file: string, records: number, quarantined: number }>(
    `SELECT _file AS file, count(*) FILTER (WHERE reason IS NULL) AS records, count(*) FILTER (WHERE reason IS NOT NULL) AS quarantined
     FROM ${lines} GROUP BY _file`)
  for (const row of lineCounts) perFile.set(row.file, { records: row.records, quarantined: row.quarantined })
  let records = 0
  let quarantined = 0
  for (const o of perFile.values()) { records += o.records; quarantined += o.quarantined }
  const lineRecords = lineCounts.reduce((a, r) => a + r.records, 0)

  const columns = [...spec.fields.map((f) => quoteIdent(f.name)), ...lineageColumns(spec.name).map(([name]) => name)].join(', ')
  if (fast.accepted.length > 0 && lineRecords === 0 && fast.rejected.length === 0) {
    await (targets.placeStaging ?? (async (staging) => { await fs.rename(staging, targets.landingPart) }))(targets.stagingPart)
  } else if (records > 0) {
    const parts = [`SELECT ${columns} FROM ${lines} WHERE reason IS NULL`]
    if (fast.accepted.length > 0) {
      parts.unshift(`SELECT ${columns} FROM read_parquet(${sqlString(targets.stagingPart)}) WHERE _file IN (SELECT unnest(${sqlStringList(fast.accepted.map((f) => f.relPath))}))`)
    }
    await engine.exec(`COPY (${parts.join(' UNION ALL ')}) TO ${sqlString(targets.landingPart)} (FORMAT parquet)`)
  }
  await fs.rm(targets.stagingPart, { force: true })
  if (quarantined > 0) {
    await engine.exec(`COPY (
      SELECT _run, _file, _line, reason,
             CASE WHEN reason = 'invalid_utf8' THEN substr(raw, ${INVALID_UTF8_MARK.length + 1}) ELSE raw END AS raw
      FROM ${lines} WHERE reason IS NOT NULL
    ) TO ${sqlString(targets.quarantinePart)} (FORMAT parquet)`)
  }
  await engine.exec(`DROP TABLE ${lines}`)
  return {
    result: { records, quarantined, perFile, fastFiles: fast.accepted.length, lineFiles: lineFiles.length },
    wroteLanding: records > 0,
    wroteQuarantine: quarantined > 0
  }
}

interface FastResult {
  accepted: ScannedFile[]
  rejected: ScannedFile[]
  /** records per accepted file (relative path) */
  counts: Map<string, number>
}

async function readFast (
  engine: SqlEngine, spec: DatasetSpec, landingRoot: string, candidates: readonly ScannedFile[], runId: number, staging: string
): Promise<FastResult> {
  const withLine = lineageColumns(spec.name).some(([name]) => name === '_line')
  const texts = spec.fields.map((f) => `CAST(${quoteIdent(f.name)} AS VARCHAR) AS t_${f.name}`).join(', ') + (withLine ? ', _line' : '')
  const values = spec.fields.map((f) => `${fieldValue(f, `t_${f.name}`)} AS ${quoteIdent(f.name)}`).join(', ')
  const ok = spec.fields.map((f) => fieldCheck(f, `t_${f.name}`)).join(' AND ')
  const columns = withLine ? jsonColumns(spec).replace(/\}$/, ", \"_line\": 'BIGINT'}") : jsonColumns(spec)
  // a file read in place is named by its path below the landing root; a numbered copy, by the map
  const inPlace = candidates.every((f) => f.fastPath === f.absPath)
  const relFile = inPlace
    ? `substr(filename, ${landingRoot.length + 2})`
    : `CASE filename ${candidates.map((f) => `WHEN ${sqlString(f.fastPath!)} THEN ${sqlString(f.relPath)}`).join(' ')} END`
  let accepted = [...candidates]
  const rejected: ScannedFile[] = []
  for (let attempt = 0; accepted.length > 0; attempt++) {
    if (attempt > MAX_FAST_RETRIES) { rejected.push(...accepted); accepted = []; break }
    try {
      await engine.exec(`COPY (
        SELECT ${values}, CASE WHEN ${ok} THEN CAST(${runId} AS BIGINT) ELSE CAST(-1 AS BIGINT) END AS _run, ${relFile} AS _file${withLine ? ', _line' : ''}
        FROM (SELECT filename, ${texts} FROM read_json(${sqlStringList(accepted.map((f) => f.fastPath!))},
              format = 'newline_delimited', columns = ${columns}, filename = true))
      ) TO ${sqlString(staging)} (FORMAT parquet)`)
      break
    } catch (err) {
      // read_json stops at the first malformed line and names its file; that file goes to the line path
      const named = isPipelineError(err) ? /in file "([^"]+)"/.exec(err.message)?.[1] : undefined
      const bad = accepted.find((f) => f.fastPath === named)
      if (bad === undefined) { rejected.push(...accepted); accepted = [] } else {
        rejected.push(bad)
        accepted = accepted.filter((f) => f !== bad)
      }
    }
  }
  const counts = new Map<string, number>()
  if (accepted.length === 0) return { accepted, rejected, counts }
  const stats = await engine.rows<{ file: string, n: number, bad: number }>(
    `SELECT _file AS file, count(*) AS n, count(*) FILTER (WHERE _run < 0) AS bad FROM read_parquet(${sqlString(staging)}) GROUP BY _file`)
  const byFile = new Map(stats.map((s) => [s.file, s]))
  const clean: ScannedFile[] = []
  for (const f of accepted) {
    const s = byFile.get(f.relPath)
    if (s !== undefined && s.bad === 0 && s.n === f.nonBlankLines) {
      clean.push(f)
      counts.set(f.relPath, s.n)
    } else {
      rejected.push(f)
    }
  }
  return { accepted: clean, rejected, counts }
}

async function readLines (engine: SqlEngine, spec: DatasetSpec, table: string, files: readonly ScannedFile[], runId: number): Promise<void> {
  const source = files.length === 0
    ? "SELECT '' AS _path, 0::BIGINT AS _line, '' AS raw WHERE false"
    : `SELECT filename AS _path, generate_subscripts(parts, 1)::BIGINT AS _line, unnest(parts) AS raw
       FROM (SELECT filename, string_split(content, chr(10)) AS parts FROM read_text(${sqlStringList(files.map((f) => f.readPath))}))`
  const fileMap = files.length === 0
    ? "SELECT '' AS _path, '' AS _file WHERE false"
    : `SELECT * FROM (VALUES ${files.map((f) => `(${sqlString(f.readPath)}, ${sqlString(f.relPath)})`).join(', ')}) AS m(_path, _file)`
  const texts = spec.fields.map((f, i) => `nullif(CAST(v[${i + 1}] AS VARCHAR), 'null') AS t_${f.name}`).join(', ')
  const values = spec.fields.map((f) => `${fieldValue(f, `t_${f.name}`)} AS ${quoteIdent(f.name)}`).join(', ')
  const fieldReasons = spec.fields.map((f) => fieldReason(f, `t_${f.name}`)).join(' ')
  await engine.exec(`
    CREATE OR REPLACE TEMP TABLE ${table} AS
    WITH raw_lines AS (${source}),
    cleaned AS (
      SELECT _path, _line,
             CASE WHEN _line = 1 THEN ltrim(rtrim(raw, chr(13)), chr(65279)) ELSE rtrim(raw, chr(13)) END AS raw
      FROM raw_lines
    ),
    parsed AS (
      SELECT _path, _line, raw,
             starts_with(raw, ${INVALID_UTF8_MARK_SQL}) AS bad_utf8,
             json_valid(raw) AS valid
      FROM cleaned
      WHERE trim(raw, ' ' || chr(9)) <> ''
    ),
    shaped AS (
      SELECT *, CASE WHEN valid AND NOT bad_utf8 THEN json_type(raw) END AS kind FROM parsed
    ),
    extracted AS (
      SELECT *,
             CASE WHEN kind = 'OBJECT' THEN json_keys(raw) END AS keys,
             CASE WHEN kind = 'OBJECT' THEN json_extract(raw, ${jsonPaths(spec)}) END AS v
      FROM shaped
    ),
    typed AS (SELECT *, ${texts} FROM extracted)
    SELECT ${values}, CAST(${runId} AS BIGINT) AS _run, m._file AS _file, _line, raw,
           CASE
             WHEN bad_utf8 THEN 'invalid_utf8'
             WHEN NOT valid THEN 'invalid_json'
             WHEN kind <> 'OBJECT' THEN 'not_an_object'
             WHEN len(keys) <> len(list_distinct(keys)) THEN 'duplicate_key'
             ${fieldReasons}
           END AS reason
    FROM typed JOIN (${fileMap}) m USING (_path)`)
}

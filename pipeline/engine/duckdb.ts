// The embedded SQL engine: one in-memory DuckDB per run, bounded in threads and memory, spilling to
// a temporary folder of the lakehouse. Everything the pipeline asks of an engine goes through here.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { PipelineError } from '../errors.js'
import { ensureHttpfs, extensionDirectory } from '../s3/httpfs.js'

export interface EngineOptions {
  threads: number
  memoryLimitMb: number
  /** where DuckDB may spill when a join does not fit in memory */
  tempDir: string
  /** s3:// paths through the httpfs extension, with these settings (absent: local files only) */
  s3?: DuckDbS3Access
}

/** What DuckDB's S3 secret needs: credentials resolved by the AWS SDK's chain, and where S3 is. */
export interface DuckDbS3Access {
  keyId: string
  secret: string
  sessionToken?: string
  region: string
  /** host:port of an S3-compatible server; absent: AWS */
  endpoint?: string
  useSsl: boolean
  urlStyle: 'path' | 'vhost'
}

export type Row = Record<string, unknown>

export interface SqlEngine {
  exec: (sql: string) => Promise<void>
  rows: <T = Row>(sql: string) => Promise<T[]>
  /** the result by column (safe integers as numbers): cheaper than rows for many rows read into JavaScript */
  columns: (sql: string) => Promise<Record<string, unknown[]>>
  /** rows with column names in order, values as JSON-safe strings/numbers (for printing) */
  table: (sql: string) => Promise<{ columns: string[], rows: unknown[][] }>
  /** runs one statement only if it is a SELECT; anything else is refused unrun */
  readOnly: (sql: string) => Promise<{ columns: string[], rows: unknown[][] }>
  close: () => void
}

export async function createDuckDbEngine (options: EngineOptions): Promise<SqlEngine> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(options.threads),
    memory_limit: `${options.memoryLimitMb}MB`,
    temp_directory: options.tempDir,
    // json and parquet are built in; httpfs is loaded explicitly from our own folder, nothing is
    // ever downloaded nor taken from ~/.duckdb
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    extension_directory: extensionDirectory()
  })
  const connection: DuckDBConnection = await instance.connect()
  if (options.s3 !== undefined) {
    try {
      await loadS3(connection, options.s3)
    } catch (err) {
      connection.closeSync()
      instance.closeSync()
      throw err
    }
  }
  const wrap = async <T>(sql: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work()
    } catch (err) {
      throw new PipelineError('PIPE_ERR_ENGINE', `${(err as Error).message.split('\n')[0]}`, { cause: Object.assign(err as Error, { sql }) })
    }
  }
  return {
    exec: async (sql) => { await wrap(sql, async () => await connection.run(sql)) },
    rows: async <T>(sql: string) => await wrap(sql, async () => {
      const reader = await connection.runAndReadAll(sql)
      return reader.getRowObjectsJS().map(toPlainRow) as T[]
    }),
    columns: async (sql) => await wrap(sql, async () => {
      const reader = await connection.runAndReadAll(sql)
      const out: Record<string, unknown[]> = {}
      for (const [name, values] of Object.entries(reader.getColumnsObjectJS())) out[name] = values.map((v) => toPlainValue(v))
      return out
    }),
    table: async (sql) => await wrap(sql, async () => {
      const reader = await connection.runAndReadAll(sql)
      return { columns: reader.columnNames(), rows: reader.getRowsJson() as unknown[][] }
    }),
    readOnly: async (sql) => {
      let statements
      try {
        statements = await connection.extractStatements(sql)
      } catch (err) {
        throw new PipelineError('PIPE_ERR_QUERY_FAILED', (err as Error).message.split('\n')[0], { cause: err })
      }
      if (statements.count !== 1) {
        throw new PipelineError('PIPE_ERR_QUERY_NOT_READ_ONLY', `give exactly one SELECT statement (got ${statements.count})`)
      }
      // json_serialize_sql parses without binding and accepts only SELECT: a write is refused before
      // anything looks at the tables (binding a DELETE on a view would fail with a confusing error)
      const check = await connection.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)}::VARCHAR) AS tree`)
      const tree = JSON.parse(String(check.getRowObjectsJS()[0].tree)) as { error?: boolean, error_message?: string }
      if (tree.error === true) {
        if (/only select/i.test(tree.error_message ?? '')) {
          throw new PipelineError('PIPE_ERR_QUERY_NOT_READ_ONLY',
            'refused: stedi query only runs SELECT statements; the zone tables change only through `stedi pipeline run`')
        }
        throw new PipelineError('PIPE_ERR_QUERY_FAILED', tree.error_message ?? 'the query cannot be parsed')
      }
      try {
        const reader = await connection.runAndReadAll(sql)
        return { columns: reader.columnNames(), rows: reader.getRowsJS().map((row) => row.map(toJsonValue)) }
      } catch (err) {
        throw new PipelineError('PIPE_ERR_QUERY_FAILED', (err as Error).message.split('\n')[0], { cause: err })
      }
    },
    close: () => {
      connection.closeSync()
      instance.closeSync()
    }
  }
}

async function loadS3 (connection: DuckDBConnection, s3: DuckDbS3Access): Promise<void> {
  const { path: extension } = ensureHttpfs()
  try {
    await connection.run(`LOAD ${sqlString(extension)}`)
  } catch (err) {
    throw new PipelineError('PIPE_ERR_S3_EXTENSION', `DuckDB cannot load ${extension}: ${(err as Error).message.split('\n')[0]}`, { cause: err })
  }
  const settings: Array<[string, string]> = [
    ['TYPE', 's3'], ['KEY_ID', sqlString(s3.keyId)], ['SECRET', sqlString(s3.secret)], ['REGION', sqlString(s3.region)],
    ['URL_STYLE', sqlString(s3.urlStyle)], ['USE_SSL', String(s3.useSsl)]
  ]
  if (s3.sessionToken !== undefined) settings.push(['SESSION_TOKEN', sqlString(s3.sessionToken)])
  if (s3.endpoint !== undefined) settings.push(['ENDPOINT', sqlString(s3.endpoint)])
  await connection.run(`CREATE SECRET stedi_s3 (${settings.map(([k, v]) => `${k} ${v}`).join(', ')})`)
}

function toPlainRow (row: Record<string, unknown>): Row {
  const out: Row = {}
  for (const [key, value] of Object.entries(row)) out[key] = toPlainValue(value)
  return out
}

function toPlainValue (value: unknown): unknown {
  return typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value
}

/** A value as JSON can carry it: exact integers stay numbers while they fit, else become strings. */
function toJsonValue (value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString()
  }
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (Array.isArray(value)) return value.map(toJsonValue)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]))
  return value
}

/** A SQL string literal. Paths and names reach SQL only through here. */
export function sqlString (value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

export function sqlStringList (values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]`
}

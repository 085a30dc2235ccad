// Every error the pipeline raises on purpose, by code. A bad landing record is not an error: it is
// quarantined and counted. These are the conditions that stop a run (and leave the lakehouse as it was).

export const PIPELINE_ERRORS = Object.freeze({
  PIPE_ERR_LANDING_MISSING: 'landing folder does not exist',
  PIPE_ERR_LANDING_EMPTY_LAYOUT: 'landing folder has none of the dataset folders',
  PIPE_ERR_LANDING_UNREADABLE: 'a landing file cannot be read',
  PIPE_ERR_NOT_A_LAKEHOUSE: 'folder is not a lakehouse',
  PIPE_ERR_LAKEHOUSE_VERSION: 'lakehouse was written by an incompatible version',
  PIPE_ERR_LAKEHOUSE_MISSING: 'lakehouse does not exist yet',
  PIPE_ERR_STATE_CORRUPT: 'pipeline state cannot be read',
  PIPE_ERR_BUSY: 'another run holds the lakehouse',
  PIPE_ERR_BAD_OPTION: 'invalid option',
  PIPE_ERR_QUERY_NOT_READ_ONLY: 'query would change data',
  PIPE_ERR_QUERY_FAILED: 'query failed',
  PIPE_ERR_ENGINE: 'the SQL engine failed',
  PIPE_ERR_ACCOUNTING: 'records are not all accounted for',
  PIPE_ERR_SPARK_UNAVAILABLE: 'no Python environment with pyspark for --engine spark',
  PIPE_ERR_SPARK_ORDER: 'a Spark job ran before the job that writes its input',
  PIPE_ERR_SPARK_FAILED: 'the Spark jobs failed',
  PIPE_ERR_S3_UNREACHABLE: 'the S3 endpoint cannot be reached',
  PIPE_ERR_S3_CREDENTIALS: 'S3 refused the credentials, or none were found',
  PIPE_ERR_S3_NO_BUCKET: 'the S3 bucket does not exist',
  PIPE_ERR_S3_REQUEST: 'an S3 request failed',
  PIPE_ERR_S3_EXTENSION: 'DuckDB\'s httpfs extension is missing or does not match DuckDB',
  PIPE_ERR_RETIRED_FULL_REFRESH: 'a Spark full refresh would lose the rows of retired landing files',
  PIPE_ERR_RETENTION: 'the run committed, but landing files it retired could not be deleted',
  PIPE_ERR_LEASE_LOST: 'the run lost its lease on an S3 lakehouse and was not committed',
  PIPE_ERR_PRIVACY_KEY: 'the privacy key is missing, or is not the one the tombstones were made with',
  PIPE_ERR_ERASURE_PENDING: 'an interrupted erasure still has landing files to rewrite (Spark jobs and verify wait for it)',
  PIPE_ERR_PRIVACY_REMAINS: 'an erased customer\'s data is still stored somewhere',
  PIPE_ERR_VERIFY_DRIFT: 'the current tables differ from a recomputation from landing'
} as const)

export type PipelineErrorCode = keyof typeof PIPELINE_ERRORS

export class PipelineError extends Error {
  readonly code: PipelineErrorCode
  /** a path the error is about, when there is one */
  readonly path?: string

  constructor (code: PipelineErrorCode, message: string, options: { path?: string, cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PipelineError'
    this.code = code
    this.path = options.path
  }
}

export function isPipelineError (err: unknown): err is PipelineError {
  return err instanceof PipelineError
}

// What an S3 failure means for the user, as one coded line that names the endpoint and the bucket:
// a server that does not answer, credentials it refuses, a bucket that is not there, or anything else.
import { type S3ConnectionConfig, endpointText } from '../../common/s3-connection.js'
import { PipelineError } from '../errors.js'

interface SdkError { name?: string, code?: string, message?: string, $metadata?: { httpStatusCode?: number }, cause?: unknown }

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'])
const CREDENTIAL_NAMES = new Set(['CredentialsProviderError', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken'])

export function isPreconditionFailed (err: unknown): boolean {
  const e = err as SdkError
  return e?.$metadata?.httpStatusCode === 412 || e?.name === 'PreconditionFailed'
}

export function isNotFound (err: unknown): boolean {
  const e = err as SdkError
  return e?.$metadata?.httpStatusCode === 404 || e?.name === 'NoSuchKey' || e?.name === 'NotFound'
}

/** A PipelineError for a failed S3 call: `what` says what was being done, e.g. "list landing objects". */
export function s3Failure (err: unknown, connection: S3ConnectionConfig, bucket: string, what: string): PipelineError {
  if (err instanceof PipelineError) return err
  const e = (err ?? {}) as SdkError
  const status = e.$metadata?.httpStatusCode
  const code = e.code ?? (e.cause as SdkError | undefined)?.code
  const where = `S3 at ${endpointText(connection)}, bucket ${bucket}`
  if (e.name === 'CredentialsProviderError') {
    return new PipelineError('PIPE_ERR_S3_CREDENTIALS',
      `no AWS credentials for ${where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile)`, { path: bucket, cause: err })
  }
  if ((code !== undefined && NETWORK_CODES.has(code)) || e.name === 'TimeoutError' || (status === undefined && /ECONNREFUSED|socket hang up|timed? ?out/i.test(e.message ?? ''))) {
    return new PipelineError('PIPE_ERR_S3_UNREACHABLE',
      `cannot reach ${where} (${code ?? e.name ?? 'no answer'}): check --s3-endpoint / AWS_ENDPOINT_URL_S3 and that the server runs`, { path: bucket, cause: err })
  }
  if (status === 403 || CREDENTIAL_NAMES.has(e.name ?? '')) {
    // a HEAD answer has no body: the status is all there is to name
    const why = e.name !== undefined && e.name !== 'Unknown' ? e.name : `HTTP ${String(status)}`
    return new PipelineError('PIPE_ERR_S3_CREDENTIALS',
      `${where} refused the credentials (${why}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`, { path: bucket, cause: err })
  }
  if (e.name === 'NoSuchBucket' || (status === 404 && what === 'find the bucket')) {
    return new PipelineError('PIPE_ERR_S3_NO_BUCKET', `${where} does not exist: create the bucket or fix the s3:// URI`, { path: bucket, cause: err })
  }
  return new PipelineError('PIPE_ERR_S3_REQUEST',
    `${where}: cannot ${what} (${e.name ?? 'error'}${status === undefined ? '' : ` ${status}`}: ${(e.message ?? '').split('\n')[0]})`, { path: bucket, cause: err })
}

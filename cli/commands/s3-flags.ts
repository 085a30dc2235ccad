// The S3 flags the pipeline and reader commands share: a location is a folder or s3://BUCKET/PREFIX,
// anything else URI-shaped is a usage error, and the connection follows the AWS conventions
// (environment, or --s3-endpoint). Apart from `stedi s3`, so that a command on local folders never
// loads the AWS SDK.
import { type S3ConnectionConfig, s3ConnectionFromEnv } from '../../common/s3-connection.js'
import { LocationError, parseLocation } from '../../common/storage-location.js'
import { UsageError } from '../args.js'

export const S3_OPTION = { 's3-endpoint': { type: 'string' } } as const
export const S3_USAGE = `  --s3-endpoint URL         an S3-compatible server for s3:// locations (default: AWS_ENDPOINT_URL_S3,
                            else AWS S3); credentials and region from the AWS environment`

/**
 * Checks --landing/--lakehouse values (a folder or s3://BUCKET/PREFIX) and, when one is in S3,
 * resolves the connection; a malformed location or endpoint is a usage error.
 */
export function storageFlags (values: Record<string, unknown>, locations: Array<[flag: string, value: string]>): S3ConnectionConfig | undefined {
  try {
    const anyS3 = locations.map(([flag, value]) => parseLocation(value, flag)).some((l) => l.kind === 's3')
    if (!anyS3 && values['s3-endpoint'] === undefined) return undefined
    return s3ConnectionFromEnv(process.env, values['s3-endpoint'] as string | undefined)
  } catch (err) {
    if (err instanceof LocationError) throw new UsageError(err.message)
    throw err
  }
}


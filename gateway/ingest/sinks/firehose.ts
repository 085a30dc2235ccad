// The AWS sink: each flush goes to the dataset's Firehose delivery stream (which delivers to S3 in
// the landing layout). PutRecordBatch takes at most 500 records and 4 MiB per call, 1,000 KiB per
// record, so NDJSON lines are packed several to a record (each line keeps its newline, so the S3
// objects Firehose concatenates stay NDJSON). A 200 answer can still carry failed records
// (FailedPutCount): only those are sent again, with backoff. A flush that still fails stays in the
// outbox and is tried again at the next flush.
import { FirehoseClient, PutRecordBatchCommand, type PutRecordBatchCommandOutput } from '@aws-sdk/client-firehose'
import { GatewayError } from '../../errors.js'
import type { FirehoseConfig } from '../../config.js'
import type { Flush } from '../../outbox/outbox.js'
import type { Sink } from './sink.js'

export const FIREHOSE_LIMITS = Object.freeze({ recordsPerCall: 500, bytesPerCall: 4 * 1024 * 1024, bytesPerRecord: 1000 * 1024 })

/** Packs lines (newline added) into records of at most bytesPerRecord; a longer line is a record alone. */
export function packRecords (lines: string[], bytesPerRecord = FIREHOSE_LIMITS.bytesPerRecord): Buffer[] {
  const records: Buffer[] = []
  let parts: Buffer[] = []
  let size = 0
  for (const line of lines) {
    const b = Buffer.from(line + '\n')
    if (size + b.length > bytesPerRecord && parts.length > 0) {
      records.push(Buffer.concat(parts))
      parts = []
      size = 0
    }
    parts.push(b)
    size += b.length
  }
  if (parts.length > 0) records.push(Buffer.concat(parts))
  return records
}

/** Groups records into PutRecordBatch calls within the count and size limits. */
export function groupCalls (records: Buffer[]): Buffer[][] {
  const calls: Buffer[][] = []
  let call: Buffer[] = []
  let size = 0
  for (const r of records) {
    if (call.length > 0 && (call.length === FIREHOSE_LIMITS.recordsPerCall || size + r.length > FIREHOSE_LIMITS.bytesPerCall)) {
      calls.push(call)
      call = []
      size = 0
    }
    call.push(r)
    size += r.length
  }
  if (call.length > 0) calls.push(call)
  return calls
}

export interface FirehoseSinkOptions {
  config: FirehoseConfig
  /** injectable for tests: how long to wait before a retry */
  sleep?: (ms: number) => Promise<void>
  onRetry?: (failed: number, attempt: number) => void
  /** explicit credentials (tests); by default the AWS SDK's provider chain finds them */
  credentials?: { accessKeyId: string, secretAccessKey: string }
}

export function createFirehoseSink (options: FirehoseSinkOptions): Sink {
  const { config } = options
  const sleep = options.sleep ?? (async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const client = new FirehoseClient({ region: config.region, endpoint: config.endpoint, maxAttempts: 3, credentials: options.credentials })
  let lastError: string | undefined
  const putAll = async (stream: string, records: Buffer[]): Promise<void> => {
    let todo = records
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (attempt >= config.maxAttempts) {
        throw new GatewayError('GW_ERR_SINK', `Firehose stream ${stream}: ${todo.length} records still failing after ${attempt} attempts`)
      }
      if (attempt > 0) {
        options.onRetry?.(todo.length, attempt)
        await sleep(Math.min(100 * 2 ** (attempt - 1), 5000))
      }
      const failed: Buffer[] = []
      for (const call of groupCalls(todo)) {
        const out: PutRecordBatchCommandOutput = await client.send(new PutRecordBatchCommand({
          DeliveryStreamName: stream,
          Records: call.map((Data) => ({ Data }))
        }))
        if ((out.FailedPutCount ?? 0) > 0) {
          out.RequestResponses?.forEach((r, i) => { if (r.ErrorCode !== undefined) failed.push(call[i]) })
        }
      }
      todo = failed
    }
  }
  return {
    name: 'firehose',
    publish: async (flush: Flush, files: Array<{ file: string, lines: string[] }>) => {
      try {
        await putAll(config.streams[flush.dataset], packRecords(files.flatMap((f) => f.lines)))
        lastError = undefined
      } catch (err) {
        lastError = (err as Error).message
        throw err instanceof GatewayError ? err : new GatewayError('GW_ERR_SINK', `Firehose: ${(err as Error).message}`, { cause: err })
      }
    },
    check: async () => lastError === undefined ? undefined : `Firehose: ${lastError}`,
    close: async () => { client.destroy() }
  }
}

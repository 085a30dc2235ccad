// Where flushed batches go. Every sink publishes one claimed flush at a time and says whether it
// is ready; the file and S3 sinks are exactly-once (a flush's file names are fixed at its claim, and
// an S3 object is never overwritten), Firehose is at-least-once (a retried batch may be delivered
// twice; the trusted zone removes such duplicates).
import type { Flush } from '../../outbox/outbox.js'

export interface Sink {
  readonly name: 'file' | 'firehose' | 's3'
  /** publishes a flush's files (names fixed by the outbox, so that a retry rewrites the same ones) */
  publish: (flush: Flush, files: Array<{ file: string, lines: string[] }>) => Promise<void>
  /** undefined when ready, else what is wrong (for /readyz) */
  check: () => Promise<string | undefined>
  close: () => Promise<void>
}

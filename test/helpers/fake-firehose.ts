// A TEST DOUBLE for Amazon Kinesis Data Firehose, which cannot exist here (no AWS). It speaks the
// part of Firehose's JSON protocol (X-Amz-Target: Firehose_20150804.PutRecordBatch, base64 Data)
// that the gateway's sink uses, keeps what it receives per delivery stream, and can fail chosen
// records the way Firehose does: HTTP 200 with FailedPutCount and per-record ErrorCode.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeFirehose {
  endpoint: string
  /** decoded records received per stream, in order of acceptance */
  records: Map<string, Buffer[]>
  calls: Array<{ stream: string, records: number, bytes: number, failed: number }>
  close: () => Promise<void>
}

/** fail(call, index) decides whether the index-th record of the call-th request fails */
export async function startFakeFirehose (fail: (call: number, index: number) => boolean = () => false): Promise<FakeFirehose> {
  const records = new Map<string, Buffer[]>()
  const calls: FakeFirehose['calls'] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => {
      const target = req.headers['x-amz-target']
      if (target !== 'Firehose_20150804.PutRecordBatch') {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' })
        res.end(JSON.stringify({ __type: 'UnknownOperationException' }))
        return
      }
      const input = JSON.parse(body) as { DeliveryStreamName: string, Records: Array<{ Data: string }> }
      const call = calls.length
      let failed = 0
      let bytes = 0
      const responses = input.Records.map((r, i) => {
        const data = Buffer.from(r.Data, 'base64')
        bytes += data.length
        if (fail(call, i)) {
          failed++
          return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
        }
        records.set(input.DeliveryStreamName, [...(records.get(input.DeliveryStreamName) ?? []), data])
        return { RecordId: `r-${call}-${i}` }
      })
      calls.push({ stream: input.DeliveryStreamName, records: input.Records.length, bytes, failed })
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
      res.end(JSON.stringify({ FailedPutCount: failed, Encrypted: false, RequestResponses: responses }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    records,
    calls,
    close: async () => { await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

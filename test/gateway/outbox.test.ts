// The outbox's own promises, below the transports.
import t from 'tap'
import { Outbox } from '../../gateway/outbox/outbox.js'
import { tempDir } from '../helpers/index.js'

t.test('a flush finished after a restart with other file limits writes the very files it began with', async (t) => {
  // from a hostile review: --max-batch-records changed across a crash, the republished flush was
  // split anew, and the parts written before the crash stayed beside it: readings landed twice
  const dir = await tempDir(t)
  const first = await Outbox.open(dir, { commitWindowMs: 1, maxRecords: 10, maxBytes: 1e6 })
  const lines = Array.from({ length: 25 }, (_, i) => `{"user":"a@test.com","timestamp":${1655564444103 + i},"x":1,"y":0,"z":-1}`)
  await first.accept({ dataset: 'accelerometer', device: 'accelerometer/a@test.com', seq: 1, lines, minTs: 1655564444103, maxTs: 1655564444127, rejections: [], readings: 25 })
  const flush = (await first.claimFlush('accelerometer', 50_000, 8e6))!
  const before = await first.flushFiles(flush)
  t.same(before.map((f) => f.lines.length), [10, 10, 5])
  await first.release()
  const second = await Outbox.open(dir, { commitWindowMs: 1, maxRecords: 50_000, maxBytes: 8e6 })
  t.teardown(async () => { await second.release() })
  const [unfinished] = await second.unfinishedFlushes()
  t.same(await second.flushFiles(unfinished), before)
})

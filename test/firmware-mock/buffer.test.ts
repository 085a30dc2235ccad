// The device's flash buffer: bounded, oldest dropped first, but never the batch on the wire (its
// PUBACK may be on the way), and an acknowledgement removes the batch it acknowledges, not the head.
import t from 'tap'
import { type Batch, createBatchBuffer } from '../../firmware-mock/buffer.js'

const batch = (seq: number): Batch => ({ seq, readings: [{ timestamp: seq }] })

t.test('a full buffer drops the oldest batch that is not on the wire; its acknowledgement removes only itself', async (t) => {
  const dropped: number[] = []
  const buffer = createBatchBuffer(2, (b) => dropped.push(b.seq))
  const a = batch(0)
  buffer.push(a)
  buffer.sending(a)
  buffer.push(batch(1))
  buffer.push(batch(2))
  t.same(dropped, [1], 'the batch awaiting its PUBACK stays; the oldest other batch goes')
  buffer.acknowledge(a)
  t.same(buffer.peek()?.seq, 2, 'the next batch to send is still there')
  t.equal(buffer.size(), 1)
  t.same(buffer.dropped, { batches: 1, readings: 1 })
})

t.test('with nothing on the wire the oldest goes', async (t) => {
  const buffer = createBatchBuffer(2)
  for (let i = 0; i < 4; i++) buffer.push(batch(i))
  t.same([buffer.peek()?.seq, buffer.size()], [2, 2])
})

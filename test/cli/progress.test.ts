// Progress shows on a terminal and stays silent otherwise.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { createProgress } from '../../cli/progress.js'

const stream = (isTTY: boolean): { s: NodeJS.WriteStream, text: () => string } => {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { isTTY: boolean }
  s.isTTY = isTTY
  let text = ''
  ;(s as unknown as PassThrough).on('data', (d: Buffer) => { text += d.toString() })
  return { s, text: () => text }
}

t.test('a terminal gets one rewritten line, cleared at the end', async (t) => {
  const { s, text } = stream(true)
  const p = createProgress(s)
  p.update('reading accelerometer landing')
  p.update('job 2/5')
  p.done()
  await new Promise((resolve) => setImmediate(resolve))
  t.match(text(), /\r\x1b\[K[\d.]+s reading accelerometer landing\r\x1b\[K[\d.]+s job 2\/5\r\x1b\[K$/)
})

t.test('a pipe or file gets nothing', async (t) => {
  const { s, text } = stream(false)
  const p = createProgress(s)
  p.update('anything')
  p.done()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(text(), '')
})

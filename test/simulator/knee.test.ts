// The ramp's knee: the highest rate held before a step passed a threshold, stated as a knee only
// when a threshold was crossed; otherwise the report says the thresholds held, and up to which rate.
import t from 'tap'
import { describeKnee, findKnee } from '../../simulator/load/knee.js'

const thresholds = { p99Ms: 1000, errorRate: 0.01 }
// a step of 10 s offering `offered` readings/s, of which `held` were acknowledged each second
const step = (offered: number, held: number, p99: number, errors = 0, messages = held): Parameters<typeof findKnee>[0][number] =>
  ({ offered, seconds: 10, window: { readings: held * 10, p99, p50: p99 / 2, errors, messages } })

t.test('p99 passes its threshold at the fourth step: the knee is the third', async (t) => {
  const knee = findKnee([step(1000, 1000, 20), step(2000, 2000, 40), step(4000, 3990, 300), step(8000, 5000, 1500), step(16_000, 5100, 4000)], thresholds)
  t.same(knee, { readingsPerSecond: 3990, offered: 4000, p99Ms: 300, crossedAt: 8000, crossing: { by: ['p99'], p99Ms: 1500, errorRate: 0 }, thresholds })
  t.equal(describeKnee(knee), 'knee at 3,990 readings/s of 4,000 offered (p99 300 ms): the next step, 8,000 readings/s offered, passed p99 1,000 ms (p99 1,500 ms)')
})

t.test('errors pass theirs (p99 still under): the knee is the step before', async (t) => {
  const knee = findKnee([step(1000, 1000, 20), step(2000, 1900, 30, 30, 1000)], thresholds)
  t.equal(knee.crossedAt, 2000)
  t.same(knee.crossing, { by: ['errors'], p99Ms: 30, errorRate: 0.03 })
  t.equal(describeKnee(knee), 'knee at 1,000 readings/s of 1,000 offered (p99 20 ms): the next step, 2,000 readings/s offered, passed errors 1% (errors 3%)')
})

t.test('both at once are both named', async (t) => {
  const knee = findKnee([step(1000, 1000, 20), step(2000, 1500, 2500, 50, 1000)], thresholds)
  t.same(knee.crossing?.by, ['p99', 'errors'])
  t.match(describeKnee(knee), /passed p99 1,000 ms \(p99 2,500 ms\) and errors 1% \(errors 5%\)$/)
})

t.test('the first step already crossed: no rate held, and the sentence says where the knee lies', async (t) => {
  const knee = findKnee([step(1000, 600, 1200), step(2000, 700, 3000)], thresholds)
  t.same(knee, { readingsPerSecond: 0, offered: 0, p99Ms: 0, crossedAt: 1000, crossing: { by: ['p99'], p99Ms: 1200, errorRate: 0 }, thresholds })
  t.equal(describeKnee(knee), 'knee below the first step: 1,000 readings/s offered already passed p99 1,000 ms (p99 1,200 ms)')
})

t.test('never crossed: no knee is stated, the highest rate held is', async (t) => {
  const knee = findKnee([step(1000, 1000, 20), step(2000, 2000, 25), step(4000, 4100, 30), step(8000, 3900, 60)], thresholds)
  t.same(knee, { readingsPerSecond: 4100, offered: 4000, p99Ms: 30, crossedAt: null, crossing: null, thresholds }, 'the highest rate held, not the last')
  const said = describeKnee(knee)
  t.equal(said, 'thresholds (p99 1,000 ms, errors 1%) never crossed; the highest rate held was 4,100 readings/s of 4,000 offered (p99 30 ms)')
  t.notMatch(said, /knee/)
})

t.test('a step exactly at a threshold holds', async (t) => {
  t.equal(findKnee([step(1000, 1000, 1000, 10, 1000)], thresholds).crossedAt, null)
})

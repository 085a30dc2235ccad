// Freshness: the time from a reading's PUBACK to its row in machine_learning_curated. The tracker
// (sampling, matching, percentiles, bounds) on an injected clock; then for real: `stedi start`
// promoting every second, and `stedi simulate fleet --watch-lakehouse` over it.
import t from 'tap'
import { FreshnessTracker, watchFreshness } from '../../simulator/freshness.js'
import { startPlatformProcess } from '../helpers/gateway-process.js'
import { ROOT, spawnCollect, tempDir } from '../helpers/index.js'

const trainer = (serial: string, instants: number[]): { kind: 'step-trainer', identity: string, readings: Array<Record<string, unknown>> } =>
  ({ kind: 'step-trainer', identity: serial, readings: instants.map((at) => ({ sensorReadingTime: at, distanceFromObject: 1 })) })
const phone = (email: string, instants: number[]): { kind: 'accelerometer', identity: string, readings: Array<Record<string, unknown>> } =>
  ({ kind: 'accelerometer', identity: email, readings: instants.map((at) => ({ timestamp: at, x: 0, y: 0, z: 0 })) })
const row = (serial: string, email: string, at: number): { serialNumber: string, sensorReadingTime: number, user: string, timestamp: number } =>
  ({ serialNumber: serial, sensorReadingTime: at, user: email, timestamp: at })

t.test('every Nth reading is followed from its acknowledgement until a row names it', async (t) => {
  let now = 1_000
  const tracker = new FreshnessTracker({ sampleEvery: 2, now: () => now })
  tracker.acknowledged({ ...trainer('sn-a', [10, 20, 30, 40]), consenting: true })
  t.same(tracker.instants().sort(), [20, 40], 'the 2nd and 4th readings')
  now = 2_000
  tracker.acknowledged({ ...phone('a@test.com', [10, 20]), consenting: true })
  t.same(tracker.instants().sort(), [20, 20, 40], 'the phone\'s 2nd reading too (instants repeat across devices)')
  t.equal(tracker.waiting(), 3)

  now = 6_000
  tracker.seen([row('sn-a', 'a@test.com', 20), row('sn-other', 'b@test.com', 40)])
  t.equal(tracker.waiting(), 1, 'a row is seen for its trainer reading and its phone reading; another trainer\'s row at 40 is not sn-a\'s')
  now = 11_000
  tracker.seen([row('sn-a', 'a@test.com', 40), row('sn-a', 'a@test.com', 40)])
  const r = tracker.result()
  t.same({ sampled: r.sampled, visible: r.visible, neverVisible: r.neverVisible }, { sampled: 3, visible: 3, neverVisible: 0 })
  t.equal(r.freshnessMs!.max, 10_000, 'the sn-a reading at 40: acknowledged at 1 s, seen at 11 s')
  t.ok(Math.abs(r.freshnessMs!.p50 - 5_000) <= 5, `the median of 4, 5 and 10 s, within the histogram's 0.1% (${r.freshnessMs!.p50})`)
})

t.test('a reading of a customer without consent is followed apart, never counted as visible', async (t) => {
  const tracker = new FreshnessTracker({ sampleEvery: 1, now: () => 0 })
  tracker.acknowledged({ ...trainer('sn-n', [10, 20]), consenting: false })
  tracker.acknowledged({ ...trainer('sn-c', [10]), consenting: true })
  tracker.seen([row('sn-c', 'c@test.com', 10)])
  let r = tracker.result()
  t.same({ sampled: r.sampled, visible: r.visible, neverVisible: r.neverVisible }, { sampled: 1, visible: 1, neverVisible: 0 })
  t.same(r.notConsenting, { sampled: 2, visible: 0 })
  t.equal(tracker.waiting(), 0, 'only consenting readings are waited for')
  // were one of them ever in the table, it would be reported, not hidden
  tracker.seen([row('sn-n', 'n@test.com', 20)])
  r = tracker.result()
  t.same(r.notConsenting, { sampled: 2, visible: 1 })
  t.equal(r.visible, 1, 'and still not counted among the visible ones')
})

t.test('memory stays bounded: past maxPending, due samples are counted as not followed', async (t) => {
  const tracker = new FreshnessTracker({ sampleEvery: 1, maxPending: 3, maxControl: 2, now: () => 0 })
  tracker.acknowledged({ ...trainer('sn-a', [1, 2, 3, 4, 5]), consenting: true })
  tracker.acknowledged({ ...trainer('sn-n', [1, 2, 3, 4]), consenting: false })
  t.equal(tracker.waiting(), 3)
  t.equal(tracker.instants().length, 3 + 2, 'three followed, and the two latest control readings')
  const r = tracker.result()
  t.same({ sampled: r.sampled, notFollowed: r.notFollowed, neverVisible: r.neverVisible }, { sampled: 3, notFollowed: 2, neverVisible: 3 })
  t.same(r.notConsenting, { sampled: 4, visible: 0 }, 'control readings past the bound stop being watched, counted as not seen')
  t.equal(r.freshnessMs, null, 'no percentile without a visible reading')
})

t.test('the watch polls its source with the instants waiting, and settles when none is left', async (t) => {
  let now = 0
  const tracker = new FreshnessTracker({ sampleEvery: 1, now: () => now })
  tracker.acknowledged({ ...trainer('sn-a', [10]), consenting: true })
  const asked: number[][] = []
  let polls = 0
  const watch = watchFreshness(tracker, async (instants) => {
    polls++
    asked.push(instants())
    now += 1000
    return polls === 3 ? [row('sn-a', 'a@test.com', 10)] : []
  }, { everyMs: 1 })
  t.equal(await watch.settle(5_000), true, 'everything seen')
  const result = await watch.stop()
  t.same(asked[0], [10])
  t.equal(result.polls >= 3, true)
  t.equal(result.errors, 0)
  t.equal(tracker.result().freshnessMs!.max, 3000)
})

t.test('stedi simulate fleet --watch-lakehouse: paired readings of consenting customers become visible within a few intervals; the others never do', async (t) => {
  const varDir = await tempDir(t)
  const secret = 'freshness-test-secret-0123456789'
  const platform = await startPlatformProcess(t, varDir, secret)
  const { http, mqtt } = platform
  // the source, through tsx, so that the test does not depend on a build
  const r = await spawnCollect(process.execPath, ['--import', 'tsx', `${ROOT}/cli/stedi.ts`, 'simulate', 'fleet', '--mqtt', mqtt, '--http', http,
    '--customers', '6', '--consent-ratio', '0.5', '--seed', '3', '--duration', '2s', '--rate', '5', '--batch', '5',
    '--watch-lakehouse', `${varDir}/lakehouse`, '--sample-every', '1', '--watch-timeout', '30s', '--json'], { env: { STEDI_GATEWAY_SECRET: secret } })
  t.equal(r.code, 0, r.stderr + r.stdout)
  const summary = JSON.parse(r.stdout) as { consenting: number, customers: number, acknowledged: number, freshness: { sampled: number, visible: number, neverVisible: number, freshnessMs: { p50: number, p99: number, max: number }, notConsenting: { sampled: number, visible: number }, polls: number, pollCost: { filesRead: number, totalMs: number } } }
  t.ok(summary.consenting > 0 && summary.consenting < summary.customers, `${summary.consenting} of ${summary.customers} consenting`)
  const f = summary.freshness
  t.equal(f.sampled, summary.acknowledged * summary.consenting / summary.customers, 'every acknowledged reading of a consenting customer followed')
  t.equal(f.visible, f.sampled)
  t.equal(f.neverVisible, 0)
  t.ok(f.freshnessMs.max > 0 && f.freshnessMs.max < 15_000, `seen within a few intervals (landing within 2 s, a run every 1 s): max ${f.freshnessMs.max} ms`)
  t.same(f.notConsenting, { sampled: summary.acknowledged - f.sampled, visible: 0 }, 'readings of customers without consent: followed, never visible')
  t.ok(f.pollCost.filesRead > 0 && f.pollCost.filesRead < f.polls, `the polls read a file only when a run had added one (${f.pollCost.filesRead} files in ${f.polls} polls, ${f.pollCost.totalMs} ms)`)
  t.equal(await platform.stop(), 0)
})

// The input rules for real device data: what is tolerated, what is quarantined (with file, line and
// reason), and that the fast reading path and the line-by-line path agree on every valid record.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { T0, customer, rows, run, tempDir, writeLanding } from '../helpers/index.js'

const reading = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ user: 'a@test.com', timestamp: 1000, x: 1, y: 0, z: -1, ...over })

t.test('tolerated: blank lines, CRLF, a byte-order mark, unknown extra fields', async (t) => {
  const landing = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('a@test.com', 's1', { shareWithResearchAsOfDate: T0 })])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [reading({ timestamp: 1 }), '', '   ', reading({ timestamp: 2, extra: { nested: true } })])
  await writeLanding(landing, 'accelerometer', 'accelerometer-2.json', [reading({ timestamp: 3 }), reading({ timestamp: 4 })], '\r\n')
  const bom = await writeLanding(landing, 'accelerometer', 'accelerometer-3.json', [reading({ timestamp: 5 })])
  await fs.writeFile(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), await fs.readFile(bom)]))
  // not landing files: a temporary file being written, a hidden file, another extension
  await writeLanding(landing, 'accelerometer', 'accelerometer-4.json.tmp', [reading({ timestamp: 6 })])
  await writeLanding(landing, 'accelerometer', '.accelerometer-5.json', [reading({ timestamp: 7 })])
  await writeLanding(landing, 'accelerometer', 'accelerometer-6.ndjson', [reading({ timestamp: 8 })])
  const lakehouse = await tempDir(t)
  const report = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.equal(report.counts.landing.accelerometer, 5)
  t.equal(report.counts.quarantined.accelerometer, 0)
  const got = await rows(lakehouse, 'SELECT timestamp, x, y, z FROM accelerometer_landing ORDER BY timestamp')
  t.same(got.map((r) => r.timestamp), [1, 2, 3, 4, 5])
  t.same(got[0], { timestamp: 1, x: 1, y: 0, z: -1 })
})

t.test('quarantined with file, line and reason; never in a landing or trusted table', async (t) => {
  const landing = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer('a@test.com', 's1', { shareWithResearchAsOfDate: T0 }),
    customer('', 's2', { shareWithResearchAsOfDate: T0 }),
    { email: 'b@test.com' },
    customer('c@test.com', 's3', { shareWithResearchAsOfDate: 'yes' })
  ])
  const file = await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [
    reading({ timestamp: 1 }), // 1 valid
    '{"user": "a@test.com", "timestamp": 2', // 2
    '[1, 2, 3]', // 3
    reading({ user: undefined }), // 4 (user dropped by JSON.stringify)
    reading({ timestamp: '3' }), // 5
    reading({ timestamp: 3.5 }), // 6
    reading({ x: '1' }), // 7
    '{"user": "a@test.com", "user": "b@test.com", "timestamp": 4, "x": 1, "y": 1, "z": 1}', // 8
    'PLACEHOLDER', // 9: invalid UTF-8, written below
    reading({ user: null }), // 10
    reading({ user: 42 }), // 11
    '{"user": "a@test.com", "timestamp": 123456789012345678901234, "x": 1, "y": 1, "z": 1}', // 12
    reading({ y: true }), // 13
    '42', // 14
    reading({ timestamp: 15 }) // 15 valid
  ])
  const content = await fs.readFile(file)
  const at = content.indexOf('PLACEHOLDER')
  await fs.writeFile(file, Buffer.concat([content.subarray(0, at), Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), content.subarray(at + 'PLACEHOLDER'.length)]))
  await writeLanding(landing, 'step_trainer', 'step_trainer-1.json', [
    { sensorReadingTime: 1, serialNumber: 's1', distanceFromObject: 250 },
    { sensorReadingTime: 2, serialNumber: 's1' },
    { sensorReadingTime: 3, serialNumber: 7, distanceFromObject: 250 }
  ])
  const lakehouse = await tempDir(t)
  const report = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same(report.counts.landing, { customer: 1, accelerometer: 2, step_trainer: 1 })
  t.same(report.counts.quarantined, { customer: 3, accelerometer: 13, step_trainer: 2 })
  const q = await rows(lakehouse, 'SELECT _file, _line, reason, raw FROM accelerometer_quarantine ORDER BY _line')
  t.same(q.map((r) => [r._line, r.reason]), [
    [2, 'invalid_json'],
    [3, 'not_an_object'],
    [4, 'missing_field:user'],
    [5, 'wrong_type:timestamp'],
    [6, 'wrong_type:timestamp'],
    [7, 'wrong_type:x'],
    [8, 'duplicate_key'],
    [9, 'invalid_utf8'],
    [10, 'missing_field:user'],
    [11, 'wrong_type:user'],
    [12, 'wrong_type:timestamp'],
    [13, 'wrong_type:y'],
    [14, 'not_an_object']
  ])
  t.ok(q.every((r) => r._file === 'accelerometer/landing/accelerometer-1.json'))
  t.equal(q[0].raw, '{"user": "a@test.com", "timestamp": 2', 'the raw line is kept')
  t.match(String(q[7].raw), /^\{.*\}$/, 'an invalid UTF-8 line keeps its bytes, one character each')
  const cq = await rows(lakehouse, 'SELECT _line, reason FROM customer_quarantine ORDER BY _line')
  t.same(cq.map((r) => [r._line, r.reason]), [[2, 'wrong_type:email'], [3, 'missing_field:serialNumber'], [4, 'wrong_type:shareWithResearchAsOfDate']])
  const sq = await rows(lakehouse, 'SELECT _line, reason FROM step_trainer_quarantine ORDER BY _line')
  t.same(sq.map((r) => [r._line, r.reason]), [[2, 'missing_field:distanceFromObject'], [3, 'wrong_type:serialNumber']])
  t.same((await rows(lakehouse, 'SELECT timestamp FROM accelerometer_trusted ORDER BY 1')).map((r) => r.timestamp), [1, 15])
  t.equal(report.read.accelerometer.lineFiles, 1, 'the file with bad lines went line by line')
})

t.test('the fast path and the line path give the same records', async (t) => {
  // valid but tricky values: escapes, unicode, exponents, integral floats, big integers
  const tricky = [
    reading({ user: 'quote"and\\backslash@test.com', timestamp: 1 }),
    reading({ user: 'Zoë.Ünicode@test.com', timestamp: 2, x: 1.5e2, y: -0.25, z: 1e-3 }),
    '{"user": "esc\\u0041ped@test.com", "timestamp": 3, "x": 1.0, "y": -0, "z": 10E2}',
    '{"user": "😀@test.com", "timestamp": 9007199254740993, "x": -1, "y": 0, "z": 1}',
    reading({ timestamp: -5, x: 0.1, y: 0.2, z: 0.30000000000000004 })
  ]
  const fastLanding = await tempDir(t)
  await writeLanding(fastLanding, 'accelerometer', 'accelerometer-1.json', tricky)
  const lineLanding = await tempDir(t)
  const withBom = await writeLanding(lineLanding, 'accelerometer', 'accelerometer-1.json', tricky)
  await fs.writeFile(withBom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), await fs.readFile(withBom)]))
  const fastLake = await tempDir(t)
  const lineLake = await tempDir(t)
  const fast = await run({ landingDir: fastLanding, lakehouseDir: fastLake })
  const line = await run({ landingDir: lineLanding, lakehouseDir: lineLake })
  t.equal(fast.read.accelerometer.fastFiles, 1)
  t.equal(line.read.accelerometer.lineFiles, 1)
  const sql = 'SELECT user, CAST(timestamp AS VARCHAR) AS ts, x, y, z FROM accelerometer_landing ORDER BY timestamp'
  const a = await rows(fastLake, sql)
  const b = await rows(lineLake, sql)
  t.equal(a.length, 5)
  t.same(a, b)
  t.same(a.map((r) => r.user), ['a@test.com', 'quote"and\\backslash@test.com', 'Zoë.Ünicode@test.com', 'escAped@test.com', '😀@test.com'])
  t.equal(a.find((r) => r.user === '😀@test.com')?.ts, '9007199254740993', 'integers keep all 64 bits')
})

t.test('an empty landing folder gives empty tables, not an error', async (t) => {
  const landing = await tempDir(t)
  await fs.mkdir(path.join(landing, 'customer/landing'), { recursive: true })
  const lakehouse = path.join(await tempDir(t), 'lake')
  const report = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same(report.counts.landing, { customer: 0, accelerometer: 0, step_trainer: 0 })
  t.same(await rows(lakehouse, 'SELECT count(*) AS n FROM machine_learning_curated'), [{ n: 0 }])
})

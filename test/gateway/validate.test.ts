// The gateway's validation, without sockets: shapes, types, ranges, identity.
import t from 'tap'
import { validateCustomer, validateDeviceMessage } from '../../gateway/ingest/validate.js'

const limits = { maxPayloadBytes: 1024, maxBatchReadings: 3 }
const now = Date.UTC(2026, 10, 26)
const v = (kind: 'step-trainer' | 'accelerometer', payload: unknown): ReturnType<typeof validateDeviceMessage> =>
  validateDeviceMessage(kind, 'dev-1', typeof payload === 'string' ? payload : JSON.stringify(payload), limits, now)

t.test('a single reading and a batch become landing lines with the identity from the topic', async (t) => {
  const one = v('step-trainer', { sensorReadingTime: 1655564444103, distanceFromObject: 218 })
  t.same(one.lines, ['{"sensorReadingTime":1655564444103,"serialNumber":"dev-1","distanceFromObject":218}'])
  t.equal(one.seq, null)
  const batch = v('accelerometer', { seq: 7, readings: [{ timestamp: 1655564444103, x: 1, y: -1, z: 0.5 }, { timestamp: 1655564444104, x: 0, y: 0, z: 0, extra: 'ignored' }] })
  t.equal(batch.seq, 7)
  t.same(batch.lines, [
    '{"user":"dev-1","timestamp":1655564444103,"x":1,"y":-1,"z":0.5}',
    '{"user":"dev-1","timestamp":1655564444104,"x":0,"y":0,"z":0}'
  ])
  t.same([batch.minTs, batch.maxTs], [1655564444103, 1655564444104])
  const odd = v('accelerometer', { timestamp: 1655564444103, x: 999.5, y: -0, z: 1.25e-7 })
  t.same(JSON.parse(odd.lines[0]), { user: 'dev-1', timestamp: 1655564444103, x: 999.5, y: 0, z: 1.25e-7 }, 'hand-built lines are JSON')
  const quoted = validateDeviceMessage('accelerometer', 'a"b\\c@test.com', JSON.stringify({ timestamp: 1655564444103, x: 0, y: 0, z: 0 }), limits, now)
  t.equal((JSON.parse(quoted.lines[0]) as { user: string }).user, 'a"b\\c@test.com', 'the identity is escaped')
})

t.test('bad messages and readings are refused with a reason', async (t) => {
  const reason = (kind: 'step-trainer' | 'accelerometer', payload: unknown): string[] => v(kind, payload).rejections.map((r) => r.reason)
  t.same(reason('step-trainer', 'not json'), ['invalid_json'])
  t.same(reason('step-trainer', 'x'.repeat(2000)), ['oversized'])
  t.same(reason('step-trainer', [1, 2]), ['not_a_reading'])
  t.same(reason('step-trainer', 42), ['not_a_reading'])
  t.same(reason('step-trainer', { seq: -1, readings: [] }), ['bad_seq'])
  t.same(reason('step-trainer', { seq: 1.5, readings: [] }), ['bad_seq'])
  t.same(reason('step-trainer', { readings: 'many' }), ['not_a_reading'])
  t.same(reason('step-trainer', { readings: [{}, {}, {}, {}] }), ['batch_too_large'])
  t.same(reason('step-trainer', { distanceFromObject: 1 }), ['missing_field'])
  t.same(reason('step-trainer', { sensorReadingTime: '1655564444103', distanceFromObject: 1 }), ['wrong_type'])
  t.same(reason('step-trainer', { sensorReadingTime: 1655564444103.5, distanceFromObject: 1 }), ['wrong_type'])
  t.same(reason('step-trainer', { sensorReadingTime: 1655564444, distanceFromObject: 1 }), ['out_of_range'], 'seconds, not milliseconds')
  t.same(reason('step-trainer', { sensorReadingTime: now + 3 * 86_400_000, distanceFromObject: 1 }), ['out_of_range'], 'days in the future')
  t.same(reason('step-trainer', { sensorReadingTime: 1655564444103, distanceFromObject: -5 }), ['out_of_range'])
  t.same(reason('step-trainer', { sensorReadingTime: 1655564444103, distanceFromObject: 'far' }), ['wrong_type'])
  t.same(reason('step-trainer', { sensorReadingTime: 1655564444103, distanceFromObject: 1, serialNumber: 'other' }), ['identity_mismatch'])
  t.same(reason('accelerometer', { timestamp: 1655564444103, x: 1, y: 1 }), ['missing_field'])
  t.same(reason('accelerometer', { timestamp: 1655564444103, x: 1, y: 1, z: 1e9 }), ['out_of_range'])
  t.same(reason('accelerometer', { timestamp: 1655564444103, x: 1, y: 1, z: 1, user: 'other@test.com' }), ['identity_mismatch'])
  const mixed = v('accelerometer', { seq: 1, readings: [{ timestamp: 1655564444103, x: 1, y: 1, z: 1 }, null, { timestamp: 1655564444103, x: '1', y: 1, z: 1 }] })
  t.equal(mixed.lines.length, 1, 'the good reading of a batch is kept')
  t.same(mixed.rejections.map((r) => [r.index, r.reason]), [[1, 'not_a_reading'], [2, 'wrong_type']])
})

t.test('customer records: the seed fields, typed; absent consent stays absent', async (t) => {
  const ok = validateCustomer({ customerName: 'A B', email: 'a@test.com', serialNumber: 's', registrationDate: 1655564444103, lastUpdateDate: 1655564444104, unknown: 1 }, 0, now)
  t.same(Array.isArray(ok) ? ok : JSON.parse(ok.line), { customerName: 'A B', email: 'a@test.com', serialNumber: 's', registrationDate: 1655564444103, lastUpdateDate: 1655564444104 })
  const bad = validateCustomer({ email: '', serialNumber: 5, shareWithResearchAsOfDate: 'yes' }, 3, now)
  t.same(Array.isArray(bad) ? bad.map((p) => [p.index, p.field, p.reason]) : bad, [[3, 'email', 'wrong_type'], [3, 'serialNumber', 'wrong_type'], [3, 'shareWithResearchAsOfDate', 'wrong_type']])
})

t.test('customer dates are epoch ms from 2015 to a day ahead, as reading times are', async (t) => {
  const at = (over: Record<string, unknown>): string[] | string => {
    const out = validateCustomer({ email: 'a@test.com', serialNumber: 's', ...over }, 0, now)
    return Array.isArray(out) ? out.map((p) => `${String(p.field)} ${p.reason}`) : 'ok'
  }
  const real = 1655564444103
  t.equal(at({ registrationDate: real, lastUpdateDate: real, shareWithResearchAsOfDate: real, shareWithPublicAsOfDate: real, shareWithFriendsAsOfDate: real }), 'ok')
  t.equal(at({ lastUpdateDate: Date.UTC(2015, 0, 1) }), 'ok', 'the first instant of 2015')
  t.equal(at({ lastUpdateDate: now + 86_400_000 }), 'ok', 'a day ahead')
  t.same(at({ lastUpdateDate: real * 1000 }), ['lastUpdateDate out_of_range'], 'microseconds')
  t.same(at({ registrationDate: Math.floor(real / 1000) }), ['registrationDate out_of_range'], 'seconds')
  t.same(at({ shareWithResearchAsOfDate: Date.UTC(2015, 0, 1) - 1 }), ['shareWithResearchAsOfDate out_of_range'])
  t.same(at({ shareWithPublicAsOfDate: now + 86_400_001 }), ['shareWithPublicAsOfDate out_of_range'])
  t.same(at({ shareWithFriendsAsOfDate: -real }), ['shareWithFriendsAsOfDate out_of_range'])
  t.same(at({ lastUpdateDate: 1.5e18 }), ['lastUpdateDate wrong_type'], 'nanoseconds are beyond exact integers')
  // the range holds whatever the clock says: far in the future the contract's end still applies
  const farFuture = validateCustomer({ email: 'a@test.com', serialNumber: 's', lastUpdateDate: Date.UTC(2100, 0, 1) }, 0, Date.UTC(2100, 0, 1))
  t.same(Array.isArray(farFuture) ? farFuture.map((p) => p.reason) : farFuture, ['out_of_range'])
})

t.test('text that no landing line can carry is refused: a lone UTF-16 surrogate', async (t) => {
  const text = (over: Record<string, unknown>): string[] | string => {
    const out = validateCustomer({ email: 'a@test.com', serialNumber: 's', lastUpdateDate: 1655564444103, ...over }, 0, now)
    return Array.isArray(out) ? out.map((p) => `${String(p.field)} ${p.reason}`) : 'ok'
  }
  t.same(text({ customerName: JSON.parse('"Anna \\ud83d"') }), ['customerName invalid_text'], 'an emoji cut in half by truncation')
  t.same(text({ email: 'a\udc00@test.com' }), ['email invalid_text'], 'a low surrogate alone')
  t.same(text({ phone: '\ude00\ud83d' }), ['phone invalid_text'], 'a pair in the wrong order')
  t.equal(text({ customerName: 'Anna 😀', birthDay: 'x\u0000\u2028\u007f\ufffe' }), 'ok', 'a whole pair, control characters and noncharacters are text')
  const device = validateDeviceMessage('accelerometer', 'dev-\ud800', JSON.stringify({ timestamp: 1655564444103, x: 0, y: 0, z: 0 }), limits, now)
  t.same(device.rejections.map((r) => r.reason), ['invalid_text'], 'an identity that is not text is refused too')
  t.same(device.lines, [])
})

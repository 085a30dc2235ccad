// What a privacy auditor and a careless or hostile user tried (each found by a review, reproduced
// here first): emails spelled with JSON escapes, in another letter case, inside another record's
// field; mistyped paths, lists and keys; a byte order mark on an erased first line.
import fs from 'node:fs/promises'
import path from 'node:path'
import t, { type Test } from 'tap'
import { T0, cli, customer, tempDir, writeLanding } from '../helpers/index.js'

const env = { STEDI_PRIVACY_KEY: 'hostile-review-privacy-key-0123456789' }
const consent = { shareWithResearchAsOfDate: T0 }
const reading = (user: string, i: number): Record<string, unknown> => ({ user, timestamp: T0 + i, x: 1, y: 0, z: 0 })

async function build (t: Test): Promise<{ landing: string, lakehouse: string, places: string[] }> {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const lakehouse = path.join(dir, 'lakehouse')
  await writeLanding(landing, 'customer', 'customer-1.json', [
    '\uFEFF' + JSON.stringify(customer('bob@x.com', 'sn-bob', consent)),
    customer('ann.bob@x.com', 'sn-ann', consent),
    customer('q"uote@x.com', 'sn-quote', consent),
    customer('esc@x.com', 'sn-esc', consent),
    customer('Ben.Khatib@test.com', 'sn-ben', consent)
  ], '\r\n')
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [
    reading('bob@x.com', 1), reading('ann.bob@x.com', 2),
    '{"user":"q\\"uote@x.com","timestamp":' + String(T0 + 3) + ',"x":1,"y":0,"z":0}',
    '{"user":"esc\\u0040x.com","timestamp":' + String(T0 + 4) + ',"x":1,"y":0,"z":0}',
    reading('Ben.Khatib@test.com', 5)
  ])
  await writeLanding(landing, 'step_trainer', 'step_trainer-1.json', [{ sensorReadingTime: T0 + 1, serialNumber: 'sn-bob', distanceFromObject: 250 }])
  t.equal((await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse], { env })).code, 0)
  return { landing, lakehouse, places: ['--landing', landing, '--lakehouse', lakehouse] }
}

t.test('an email spelled with JSON escapes is found by verify and erased', async (t) => {
  const { landing, places } = await build(t)
  const before = await cli(['privacy', 'verify', '--email', 'esc@x.com', ...places], { env })
  t.equal(before.code, 1, 'verify sees "esc\\u0040x.com" in the landing file')
  t.match(before.stdout, /accelerometer\/landing\/accelerometer-1\.json: 1 email occurrence/)
  for (const email of ['esc@x.com', 'q"uote@x.com']) {
    const erase = await cli(['privacy', 'erase', '--email', email, ...places], { env })
    t.equal(erase.code, 0, erase.stdout + erase.stderr)
    t.equal((await cli(['privacy', 'verify', '--email', email, ...places], { env })).code, 0, `${email}: nothing remains`)
  }
  const text = await fs.readFile(path.join(landing, 'accelerometer/landing/accelerometer-1.json'), 'utf8')
  t.notMatch(text, /esc\\u0040x\.com|q\\"uote/, 'the escaped lines are gone from the landing file')
  t.match(text, /ann\.bob@x\.com/, 'the others stay')
})

t.test('an email in another letter case is reported, never a false proof', async (t) => {
  const { places } = await build(t)
  const verify = await cli(['privacy', 'verify', '--email', 'ben.khatib@test.com', ...places], { env })
  t.equal(verify.code, 1, 'data stored under Ben.Khatib@test.com is not "nothing"')
  t.match(verify.stdout, /email in another letter case/)
  const erase = await cli(['privacy', 'erase', '--email', 'ben.khatib@test.com', ...places], { env })
  t.equal(erase.code, 1, 'the erasure does not claim every copy is gone')
  t.match(erase.stderr, /PIPE_ERR_PRIVACY_REMAINS/)
  t.match(erase.stderr, /no record of the customer\(s\) named was found/)
})

t.test('an erased email kept as a value of another customer\'s record: erase says so and exits 1', async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const lakehouse = path.join(dir, 'lakehouse')
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('bob@x.com', 'sn-bob', consent), customer('carl@x.com', 'sn-carl', { ...consent, customerName: 'bob@x.com' })])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [reading('bob@x.com', 1), reading('carl@x.com', 2)])
  await writeLanding(landing, 'step_trainer', 'step_trainer-1.json', [{ sensorReadingTime: T0 + 1, serialNumber: 'sn-bob', distanceFromObject: 250 }])
  t.equal((await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse], { env })).code, 0)
  const erase = await cli(['privacy', 'erase', '--email', 'bob@x.com', '--landing', landing, '--lakehouse', lakehouse], { env })
  t.equal(erase.code, 1)
  t.match(erase.stdout, /still stored: landing: customer\/landing\/customer-1\.json: 1 email occurrence/)
  t.match(erase.stderr, /as a value of another record.*\[PIPE_ERR_PRIVACY_REMAINS\]/)
  t.match(await fs.readFile(path.join(landing, 'customer/landing/customer-1.json'), 'utf8'), /carl@x\.com/, 'carl\'s record is not erased for him')
})

t.test('mistyped paths, lists and keys are refused, never taken for "nothing remains"', async (t) => {
  const { landing, lakehouse, places } = await build(t)
  const missing = await cli(['privacy', 'verify', '--email', 'bob@x.com', '--landing', landing, '--lakehouse', `${lakehouse}-typo`], { env })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /PIPE_ERR_LAKEHOUSE_MISSING/)
  const list = path.join(path.dirname(landing), 'emails.txt')
  await fs.writeFile(list, '# to forget\nbob@x.com # asked on the phone\n')
  const listed = await cli(['privacy', 'erase', '--emails', list, ...places], { env })
  t.equal(listed.code, 2)
  t.match(listed.stderr, /emails\.txt:2: "bob@x\.com # asked on the phone" is not an email address/)
  const gw = await cli(['privacy', 'erase', '--email', 'bob@x.com', ...places, '--gateway-state', path.join(landing, 'no-gateway')], { env })
  t.equal(gw.code, 2)
  t.match(gw.stderr, /is not a gateway's state folder/)
  t.equal((await cli(['privacy', 'verify', '--email', 'bob@x.com', ...places], { env })).code, 1, 'nothing was erased by the refused commands')

  t.equal((await cli(['privacy', 'erase', '--email', 'bob@x.com', ...places], { env })).code, 0)
  const bytes = await fs.readFile(path.join(landing, 'customer/landing/customer-1.json'))
  t.same([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the file keeps its byte order mark when its first line goes')
  t.match(bytes.toString('utf8'), /^\uFEFF\{"customerName":"Test Person","email":"ann\.bob@x\.com"/)
  const wrong = await cli(['privacy', 'verify', '--email', 'bob@x.com', ...places], { env: { STEDI_PRIVACY_KEY: 'another-key-0123456789abcdef' } })
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /is not the one .* tombstones were made with.*\[PIPE_ERR_PRIVACY_KEY\]/)
  const none = await cli(['privacy', 'verify', '--email', 'bob@x.com', ...places], { env: { STEDI_PRIVACY_KEY: '', STEDI_PRIVACY_KEY_FILE: path.join(landing, 'no-key') } })
  t.equal(none.code, 1)
  t.match(none.stderr, /holds tombstones: set STEDI_PRIVACY_KEY.*\[PIPE_ERR_PRIVACY_KEY\]/)
  t.equal((await cli(['privacy', 'verify', '--email', 'bob@x.com', ...places], { env })).code, 0)
})

// An acknowledged consent withdrawal is honoured by the next run, always. Through a real gateway:
// what it acknowledges (202) lands and is kept by the pipeline; what the pipeline could not keep
// (half an emoji, a date in microseconds) it refuses with 400, so the client knows and sends it again.
// A record dropped into landing directly with a microsecond date is quarantined: it cannot outrank
// the withdrawal either.
import t from 'tap'
import { T0, customer, rows, run, tempDir, writeLanding } from '../helpers/index.js'
import { credential, startGateway } from '../helpers/gateway.js'

interface Answer { status: number, body: { problems?: Array<{ index: number, field: string, reason: string, detail: string }> } }

const post = async (url: string, body: unknown, token: string): Promise<Answer> => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    // raw text, so that a lone surrogate reaches the gateway as the escape a client sends
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
  return { status: res.status, body: await res.json() as Answer['body'] }
}

const PEOPLE = ['anna', 'bob', 'carol'] as const
const email = (who: string): string => `${who}@test.com`
const serial = (who: string): string => `sn-${who}`

t.test('every withdrawal the gateway acknowledges leaves every zone at the next run', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  const web = credential('service', 'website')
  const customers = `${gw.httpUrl}/v1/customers`
  /** emails whose withdrawal was acknowledged */
  const withdrawn: string[] = []
  const withdraw = async (record: Record<string, unknown> | string): Promise<Answer> => {
    const answer = await post(customers, record, web)
    if (answer.status === 202) withdrawn.push(typeof record === 'string' ? (JSON.parse(record) as { email: string }).email : record.email as string)
    return answer
  }

  for (const who of PEOPLE) {
    t.equal((await post(customers, customer(email(who), serial(who), { shareWithResearchAsOfDate: T0 }), web)).status, 202, `${who} consents`)
    const phone = await post(`${gw.httpUrl}/v1/readings/accelerometer`, { seq: 1, readings: [{ timestamp: T0 + 5000, x: 1, y: 0, z: -1 }] }, credential('accelerometer', email(who)))
    const trainer = await post(`${gw.httpUrl}/v1/readings/step-trainer`, { seq: 1, readings: [{ sensorReadingTime: T0 + 5000, distanceFromObject: 250 }] }, credential('step-trainer', serial(who)))
    t.same([phone.status, trainer.status], [202, 202], `${who}'s readings are acknowledged`)
  }
  await gw.gateway.batcher.drain()
  const lakehouse = await tempDir(t)
  const first = await run({ landingDir: gw.landing, lakehouseDir: lakehouse })
  t.same(first.counts.curated, { customer: 3, machine_learning: 9 }, 'all three are in the machine-learning table')

  // Anna's name was cut in the middle of an emoji by the client: the gateway cannot land it
  const cut = await withdraw(JSON.stringify(customer(email('anna'), serial('anna'), { lastUpdateDate: T0 + 60_000 }))
    .replace('"Test Person"', '"Anna \\ud83d"'))
  t.same([cut.status, cut.body.problems], [400, [{ index: 0, field: 'customerName', reason: 'invalid_text', detail: cut.body.problems?.[0]?.detail }]],
    'half an emoji is refused: the client knows')
  t.equal((await withdraw(customer(email('anna'), serial('anna'), { customerName: 'Anna', lastUpdateDate: T0 + 60_000 }))).status, 202, 'sent again without it, it is acknowledged')

  // Bob's app once wrote microseconds: refused, so it cannot outrank his withdrawal
  const micro = await post(customers, customer(email('bob'), serial('bob'), { lastUpdateDate: (T0 + 1000) * 1000, shareWithResearchAsOfDate: T0 }), web)
  t.same([micro.status, micro.body.problems?.map((p) => [p.field, p.reason])], [400, [['lastUpdateDate', 'out_of_range']]], 'a microsecond date is refused')
  t.equal((await withdraw(customer(email('bob'), serial('bob'), { lastUpdateDate: T0 + 60_000 }))).status, 202)
  // ... and a legacy writer drops the same microsecond record straight into landing
  await writeLanding(gw.landing, 'customer', 'customer-9999999999999-legacy.json',
    [customer(email('bob'), serial('bob'), { lastUpdateDate: (T0 + 1000) * 1000, shareWithResearchAsOfDate: T0 })])

  // Carol's withdrawal is odd text, but text: acknowledged, landed, kept
  const odd = await withdraw(JSON.stringify(customer(email('carol'), serial('carol'), { lastUpdateDate: T0 + 60_000 }))
    .replace('"Test Person"', '"Carol \\ud83d\\ude00 \\u2028\\u0000\\ufeff \\/ \u2029"'))
  t.equal(odd.status, 202, 'odd but whole text is acknowledged')

  await gw.gateway.batcher.drain()
  const second = await run({ landingDir: gw.landing, lakehouseDir: lakehouse })
  t.same(withdrawn.sort(), PEOPLE.map(email), 'every customer\'s withdrawal was acknowledged once')
  for (const table of ['customer_trusted', 'customer_curated']) {
    t.same(await rows(lakehouse, `SELECT email FROM ${table}`), [], `no acknowledged withdrawal is left in ${table}`)
  }
  t.same(await rows(lakehouse, 'SELECT DISTINCT user FROM machine_learning_curated'), [], 'nor in the machine-learning table')
  t.same(second.counts.curated, { customer: 0, machine_learning: 0 })
  t.same(await rows(lakehouse, 'SELECT _file, reason FROM customer_quarantine'),
    [{ _file: 'customer/landing/customer-9999999999999-legacy.json', reason: 'out_of_range:lastUpdateDate' }],
    'the only quarantined line is the one the gateway never saw')
  const names = await rows(lakehouse, "SELECT CAST(to_json(customerName) AS VARCHAR) AS name FROM customer_landing WHERE email = 'carol@test.com' AND lastUpdateDate > " + String(T0))
  t.same(names.map((r) => JSON.parse(String(r.name))), ['Carol 😀 \u2028\u0000\ufeff / \u2029'], 'Carol\'s odd name landed as sent')
})

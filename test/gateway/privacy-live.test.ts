// Erasure on a RUNNING gateway through POST /v1/privacy/erasures: service credentials only, the
// key's fingerprint must match, B keeps flowing meanwhile, and no byte of the state names A after.
import t from 'tap'
import { eraseOnGateway } from '../../gateway/privacy/client.js'
import { credential, landedLines, ledger, startGateway } from '../helpers/gateway.js'
import { A, B, FINGERPRINT, KEY, accel, customer, scanFolder, steps, tombstonesOf } from './privacy-helpers.js'

const post = async (base: string, path: string, cred: string, body: unknown): Promise<{ status: number, json: Record<string, any> }> => {
  const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() as Record<string, any> }
}

t.test('erasure on a running gateway', async (t) => {
  const gw = await startGateway(t, { privacyKey: KEY, batch: { maxAgeMs: 3_600_000, maxRecords: 10_000 } })
  const old = Date.now() - 3_600_000
  for (const who of [A, B]) {
    t.equal((await post(gw.httpUrl, '/v1/readings/accelerometer', credential('accelerometer', who.email), { seq: 1, readings: accel(old, 2) })).status, 202)
    t.equal((await post(gw.httpUrl, '/v1/readings/step-trainer', credential('step-trainer', who.serial), { seq: 1, readings: steps(old, 1) })).status, 202)
  }
  t.equal((await post(gw.httpUrl, '/v1/customers', credential('service', 'website'), [customer(A, old), customer(B, old)])).status, 202)
  await gw.gateway.outbox.settle()
  const body = { keyFingerprint: FINGERPRINT, tombstones: tombstonesOf(A, Date.now()) }

  const device = await post(gw.httpUrl, '/v1/privacy/erasures', credential('accelerometer', B.email), body)
  t.equal(device.status, 403, 'a device may not erase')
  const none = await fetch(`${gw.httpUrl}/v1/privacy/erasures`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.equal(none.status, 401)
  const wrong = await post(gw.httpUrl, '/v1/privacy/erasures', credential('service', 'privacy'), { ...body, keyFingerprint: '0123456789abcdef' })
  t.equal(wrong.status, 409)
  t.match(wrong.json.message, /0123456789abcdef.*hash with the same key/)
  t.equal((await post(gw.httpUrl, '/v1/privacy/erasures', credential('service', 'privacy'), { ...body, tombstones: [{ kind: 'email', hash: 'nope', erasedAt: 1 }] })).status, 400)

  // B keeps publishing while the erasure runs: every one of its messages is acknowledged
  let stop = false
  let bSeq = 10
  const bLoop = (async () => {
    let acked = 0
    while (!stop) {
      const r = await post(gw.httpUrl, '/v1/readings/accelerometer', credential('accelerometer', B.email), { seq: bSeq++, readings: accel(Date.now() - 1000, 1) })
      if (r.status === 202) acked++
    }
    return acked
  })()
  const receipt = await eraseOnGateway(gw.httpUrl, credential('service', 'privacy'), body)
  stop = true
  const bAcked = await bLoop
  t.comment(`live erasure: ${receipt.durationMs} ms; B acknowledged ${bAcked} messages meanwhile`)
  t.equal(receipt.tombstones.added, 2)
  t.ok(receipt.places.segments.records >= 2 + 1 + 1)
  t.same(receipt.files.map((f) => f.file).sort(), ['gateway.sqlite', 'ledger.sqlite', 'privacy.sqlite'])
  t.same(await scanFolder(gw.state, [A.email, A.serial, encodeURIComponent(A.email)]), [], 'no byte of the live state names A')

  await t.rejects(eraseOnGateway(gw.httpUrl, credential('accelerometer', A.email), body), { code: 'GW_ERR_PRIVACY_REQUEST', status: 403 })
  const resent = await post(gw.httpUrl, '/v1/readings/accelerometer', credential('accelerometer', A.email), { seq: 1, readings: accel(old, 2) })
  t.match(resent, { status: 202, json: { accepted: 0, erased: 2 } })
  const answer = await ledger(gw.httpUrl, 'accelerometer', A.email, { seq: 1 })
  t.match(answer, { batch: null, readings: [], erased: { through: String } }, 'the ledger says the message was erased')
  t.notOk('erased' in await ledger(gw.httpUrl, 'accelerometer', B.email, { seq: 1 }))
  const customers = await post(gw.httpUrl, '/v1/customers', credential('service', 'website'), [customer(A, old)])
  t.match(customers, { status: 202, json: { accepted: 0, erased: 1 } })
  const openapi = await (await fetch(`${gw.httpUrl}/docs/json`)).json() as { paths: Record<string, unknown> }
  t.ok(openapi.paths['/v1/privacy/erasures'], 'in the OpenAPI description')
  await gw.gateway.close()
  const accelLines = await landedLines(gw.landing, 'accelerometer')
  t.equal(accelLines.filter((l) => l.includes(A.email)).length, 0, 'nothing of A landed')
  t.equal(accelLines.filter((l) => l.includes(B.email)).length, 2 + bAcked, 'all of B landed, including what came during the erasure')
  t.same((await landedLines(gw.landing, 'customer')).map((l) => (JSON.parse(l) as { email: string }).email), [B.email])
  t.equal((await landedLines(gw.landing, 'step_trainer')).filter((l) => l.includes(A.serial)).length, 0)
})

import { createHmac } from 'node:crypto'
import t from 'tap'
import { issueCredential, secretProblem, verifyCredential } from '../../gateway/credentials.js'

t.test('a credential names its device and verifies under any configured secret', async (t) => {
  const old = 'old-secret-0123456789'
  const next = 'new-secret-0123456789'
  const cred = issueCredential(old, 'accelerometer', 'Santosh.Clayton@test.com')
  t.same(verifyCredential([old], cred), { kind: 'accelerometer', identity: 'Santosh.Clayton@test.com', generation: 0 })
  t.same(verifyCredential([next, old], cred), { kind: 'accelerometer', identity: 'Santosh.Clayton@test.com', generation: 0 }, 'during a rotation the old credential still works')
  t.equal(verifyCredential([next], cred), undefined, 'after the rotation it does not')
  const parts = cred.split('.')
  t.equal(verifyCredential([old], [parts[0], 'step-trainer', parts[2], parts[3]].join('.')), undefined, 'the kind is signed')
  t.equal(verifyCredential([old], [parts[0], parts[1], Buffer.from('other@test.com').toString('base64url'), parts[3]].join('.')), undefined, 'the identity is signed')
  for (const junk of ['', 'x', 'stedi1.a.b', 'stedi1.step-trainer.!!.??', 'stedi2.step-trainer.YQ.YQ']) t.equal(verifyCredential([old], junk), undefined, junk)
})

t.test('no credential for an identity the gateway would never accept, issued or forged', async (t) => {
  const secret = 'a-secret-0123456789'
  for (const bad of ['', 'x'.repeat(255), 'a\u0000b', 'a\nb', 'a\ud800b']) {
    t.throws(() => issueCredential(secret, 'accelerometer', bad), { code: 'CONTRACT_ERR_INVALID_IDENTITY' }, JSON.stringify(bad))
    // a lone surrogate cannot travel as UTF-8 at all, so only the others can be forged
    if (bad.includes('\ud800')) continue
    // made by hand, as a provisioning service in another language might
    const mac = createHmac('sha256', secret).update(`stedi1|accelerometer|${bad}`).digest('base64url')
    t.equal(verifyCredential([secret], ['stedi1', 'accelerometer', Buffer.from(bad).toString('base64url'), mac].join('.')), undefined, `${JSON.stringify(bad)}: refused`)
  }
  const plus = issueCredential(secret, 'accelerometer', 'first.last+stedi@example.com')
  t.same(verifyCredential([secret], plus), { kind: 'accelerometer', identity: 'first.last+stedi@example.com', generation: 0 })
})

t.test('a credential carries a generation: stedi1 is generation 0, stedi2 signs the generation', async (t) => {
  const secret = 'a-secret-0123456789'
  const g0 = issueCredential(secret, 'step-trainer', 'sn-1')
  t.match(g0, /^stedi1\./, 'generation 0 is issued in the old format, so that provisioning sees no change')
  t.equal(issueCredential(secret, 'step-trainer', 'sn-1', 0), g0)
  const g3 = issueCredential(secret, 'step-trainer', 'sn-1', 3)
  t.match(g3, /^stedi2\.step-trainer\.c24tMQ\.3\./)
  t.same(verifyCredential([secret], g3), { kind: 'step-trainer', identity: 'sn-1', generation: 3 })
  const parts = g3.split('.')
  t.equal(verifyCredential([secret], [...parts.slice(0, 3), '4', parts[4]].join('.')), undefined, 'the generation is signed')
  t.equal(verifyCredential([secret], [...parts.slice(0, 3), '03', parts[4]].join('.')), undefined, 'one spelling per generation')
  t.equal(verifyCredential([secret], [...parts.slice(0, 3), '0', parts[4]].join('.')), undefined, 'generation 0 only as stedi1')
  t.throws(() => issueCredential(secret, 'step-trainer', 'sn-1', -1))
  t.throws(() => issueCredential(secret, 'step-trainer', 'sn-1', 1.5))
})

t.test('one rule for the secret, shared by the gateway and `stedi devices token`', async (t) => {
  t.equal(secretProblem('x'.repeat(16)), undefined)
  t.match(secretProblem('short'), /at least 16 characters/)
})

import { createHmac } from 'node:crypto'
import t from 'tap'
import { issueCredential, verifyCredential } from '../../gateway/credentials.js'

t.test('a credential names its device and verifies under any configured secret', async (t) => {
  const old = 'old-secret-0123456789'
  const next = 'new-secret-0123456789'
  const cred = issueCredential(old, 'accelerometer', 'Santosh.Clayton@test.com')
  t.same(verifyCredential([old], cred), { kind: 'accelerometer', identity: 'Santosh.Clayton@test.com' })
  t.same(verifyCredential([next, old], cred), { kind: 'accelerometer', identity: 'Santosh.Clayton@test.com' }, 'during a rotation the old credential still works')
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
  t.same(verifyCredential([secret], plus), { kind: 'accelerometer', identity: 'first.last+stedi@example.com' })
})

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

// Identities in topics: every valid identity has exactly one topic level, and a level decodes to
// at most one identity, whatever characters an email address may hold.
import t from 'tap'
import {
  DEVICE_KINDS, decodeIdentity, deviceTopicFilter, encodeIdentity, isValidIdentity, parseReadingsTopic, readingsTopic
} from '../../contracts/topics.js'
import { createRandom } from '../../simulator/generate.js'

// weighted towards the characters the encoding is about, with multi-unit characters beside them
const ALPHABET = ['%', '+', '#', '/', '2', '5', 'B', 'b', 'F', 'f', '3', 'a', '.', '@', '-', 'é', '😀', ' ', '$']

function randomString (r: () => number, max: number): string {
  return Array.from({ length: Math.floor(r() * max) }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]).join('')
}

t.test('the four characters MQTT or the encoding reserve are escaped, and only those', async (t) => {
  t.equal(encodeIdentity('first.last+stedi@example.com'), 'first.last%2Bstedi@example.com')
  t.equal(encodeIdentity('a#b@example.com'), 'a%23b@example.com')
  t.equal(encodeIdentity('a/b@example.com'), 'a%2Fb@example.com')
  t.equal(encodeIdentity('50%off@example.com'), '50%25off@example.com')
  t.equal(encodeIdentity('Santosh.Clayton@test.com'), 'Santosh.Clayton@test.com', 'the common case is unchanged')
  t.equal(readingsTopic('accelerometer', 'a+b/c#d%e@x.com'), 'stedi/v1/accelerometer/a%2Bb%2Fc%23d%25e@x.com/readings')
  t.equal(deviceTopicFilter('accelerometer', 'a+b@x.com'), 'stedi/v1/accelerometer/a%2Bb@x.com/#')
  t.throws(() => encodeIdentity('a\u0000b'), { code: 'CONTRACT_ERR_INVALID_IDENTITY' }, 'an invalid identity has no topic')
})

t.test('decoding is strict: only the four escapes, in upper case, make an identity', async (t) => {
  t.equal(decodeIdentity('a%2Bb%2Fc%23d%25e@x.com'), 'a+b/c#d%e@x.com')
  t.equal(decodeIdentity('%252'), '%2')
  for (const level of ['%41', '%2b', '%2f', '%', 'a%', 'a%2', '%%25', 'a+b', 'a#b', '', '%00', '%0A', 'a\u0000b']) {
    t.equal(decodeIdentity(level), undefined, JSON.stringify(level))
  }
  t.equal(parseReadingsTopic('stedi/v1/accelerometer/a%2Bb@x.com/readings')?.identity, 'a+b@x.com')
  t.equal(parseReadingsTopic('stedi/v1/accelerometer/a%2bb@x.com/readings'), undefined, 'lower-case hex is another spelling: refused')
  t.equal(parseReadingsTopic('stedi/v1/accelerometer/%61@x.com/readings'), undefined, 'an escape of an ordinary character is refused')
  t.equal(parseReadingsTopic('stedi/v1/accelerometer/a/b@x.com/readings'), undefined, 'an unencoded / makes another topic')
})

t.test('what an identity may be: the decoded text, as MQTT strings allow', async (t) => {
  for (const ok of ['a', 'first.last+stedi@example.com', 'a#b@example.com', 'a/b@example.com', '50%off@example.com', 'ü😀@example.com', 'x'.repeat(254)]) {
    t.ok(isValidIdentity(ok), JSON.stringify(ok))
  }
  // [MQTT-1.5.3-1] ill-formed UTF-8 (a lone surrogate) and U+0000; [MQTT-1.5.3-2] control characters and non-characters
  for (const bad of ['', 'x'.repeat(255), 'a\u0000b', 'a\nb', 'a\u001fb', 'a\u007fb', 'a\u0085b', 'a\ud800b', 'a\udc00', 'a\ufffeb', 'a\uffff']) {
    t.notOk(isValidIdentity(bad), JSON.stringify(bad))
  }
})

t.test('round trip: one identity, one topic; one topic, at most one identity', async (t) => {
  const r = createRandom(2024)
  let valid = 0
  for (let i = 0; i < 5000; i++) {
    const identity = randomString(r, 12)
    const kind = DEVICE_KINDS[i % 2]
    if (!isValidIdentity(identity)) continue
    valid++
    const level = encodeIdentity(identity)
    if (/[+#/]/.test(level)) t.fail(`${identity} -> ${level} holds a separator or a wildcard`)
    if (decodeIdentity(level) !== identity) t.fail(`${identity} -> ${level} -> ${String(decodeIdentity(level))}`)
    const parsed = parseReadingsTopic(readingsTopic(kind, identity))
    if (parsed?.identity !== identity || parsed.kind !== kind) t.fail(`${identity}: the topic does not parse back`)
  }
  let decoded = 0
  for (let i = 0; i < 5000; i++) {
    const level = randomString(r, 10).replaceAll('/', '')
    const identity = decodeIdentity(level)
    if (identity === undefined) continue
    decoded++
    if (encodeIdentity(identity) !== level) t.fail(`${level} -> ${identity} -> ${encodeIdentity(identity)}: two levels for one identity`)
  }
  t.ok(valid > 4000 && decoded > 500, `${valid} identities and ${decoded} decodable levels checked`)
})

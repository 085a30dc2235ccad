// The content hash is stored: a running state's ledger, and the message lists of its segments, hold
// the hashes of everything acknowledged. A release that hashed differently would take every
// redelivery of a message acknowledged before the upgrade for a new message. These values were
// made by the release that first stored them.
import t from 'tap'
import { contentHash, deliveryKey } from '../../gateway/outbox/content-key.js'

const reading = (user: string, i: number): string => `{"user":"${user}","timestamp":${1655564444103 + i},"x":1,"y":0,"z":-1}`

t.test('content hashes are the ones earlier releases stored', async (t) => {
  t.equal(contentHash([reading('ann@x.com', 0)], []), '0x6iong0y5mjpf', 'one reading (the short, in-JavaScript hash)')
  t.equal(contentHash([reading('ann@x.com', 0), '{"user":"ann@x.com","timestamp":1655564444104,"x":0.5,"y":-0.25,"z":9.8}'], []), '0m3bbdp1sejght', 'two lines, joined by a newline')
  t.equal(contentHash([], [{ index: null, reason: 'invalid_json' }]), '0gihsk619ihuw2', 'a refusal only')
  t.equal(contentHash(['{"sensorReadingTime":1655564444103,"serialNumber":"ü-€-😀","distanceFromObject":222}'],
    [{ index: 1, reason: 'out_of_range' }, { index: 2, reason: 'missing_field' }]), '038lqt41s9723f', 'text beyond ASCII, with refusals')
  t.equal(contentHash(Array.from({ length: 10 }, (_, i) => reading('bob@x.com', i)), []), 'qUPfYwsXt6iiYQcz', 'a long message (SHA-1)')
})

t.test('a delivery is keyed by seq when it has one, else by its content', async (t) => {
  const lines = [reading('ann@x.com', 0)]
  t.same(deliveryKey({ seq: 7, lines, rejections: [] }), { dkey: 's:7', hash: '0x6iong0y5mjpf' })
  t.same(deliveryKey({ seq: null, lines, rejections: [] }), { dkey: 'h:0x6iong0y5mjpf', hash: '0x6iong0y5mjpf' })
})

t.test('the text the caller joined already hashes as the lines do', async (t) => {
  for (const n of [1, 2, 10, 40]) {
    const lines = Array.from({ length: n }, (_, i) => reading('ann@x.com', i))
    const rejections = n % 2 === 0 ? [] : [{ index: n, reason: 'missing_field' }]
    t.equal(contentHash(lines, rejections, lines.join('\n')), contentHash(lines, rejections), `${n} lines`)
  }
})

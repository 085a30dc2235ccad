// The gateway's limits are options of `stedi gateway` (README, "Limits"): each is taken, and a
// wrong value is a usage error naming the flag.
import t from 'tap'
import { SECRET } from '../helpers/gateway.js'
import { cli, tempDir } from '../helpers/index.js'

const LIMITS = ['--max-ack-delay', '1s', '--max-payload-bytes', '4096', '--max-packet-bytes', '8192', '--max-preauth-packet-bytes', '2048',
  '--connect-timeout', '2s', '--request-timeout', '3s', '--max-connections', '50', '--shutdown-grace', '1s', '--max-state-bytes', '100000000',
  '--rejection-records', '2', '--peer', 'http://127.0.0.1:9', '--max-pending-connections', '10', '--max-connections-per-device', '2']

t.test('every limit is an option; a wrong value is a usage error naming it', async (t) => {
  const dir = await tempDir(t)
  const help = await cli(['gateway', '--help'])
  for (let i = 0; i < LIMITS.length; i += 2) t.match(help.stdout, LIMITS[i], `${LIMITS[i]} is documented`)
  const base = ['gateway', '--landing', dir, '--state', dir, '--mqtt-port', '0', '--http-port', '0']
  const wrong = await cli([...base, '--rejection-records', 'many'], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(wrong.code, 2)
  t.match(wrong.stderr, /--rejection-records/)
  const payload = await cli([...base, '--max-payload-bytes', '9000', '--max-packet-bytes', '4096'], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(payload.code, 1, 'a packet limit below the payload limit is refused')
  t.match(payload.stderr, /maxPacketBytes .* must be at least maxPayloadBytes/)
  const badPeer = await cli([...base, '--peer', 'gateway-2'], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(badPeer.code, 1)
  t.match(badPeer.stderr, /--peer takes a gateway's HTTP URL/)
})

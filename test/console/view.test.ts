// The console's parts without sockets: the per-second ring, the latency quantiles, the counter
// tables, and who may read the console (fastify inject with a remote address).
import t from 'tap'
import { createRateHistory } from '../../gateway/console/rate-history.js'
import { Counter, Histogram } from '../../gateway/metrics.js'
import { isLoopback } from '../../gateway/console/routes.js'
import { credential, startGateway } from '../helpers/gateway.js'

t.test('the rate history keeps one count per second for its window, and a quiet second reads 0', async (t) => {
  const h = createRateHistory({ seconds: 5 })
  const base = 1_000_000_000
  h.record('accelerometer', 3, base)
  h.record('accelerometer', 2, base + 999)
  h.record('step_trainer', 1, base + 2000)
  let s = h.series(base + 2500)
  t.same(s.series.accelerometer, [0, 0, 5, 0, 0])
  t.same(s.series.step_trainer, [0, 0, 0, 0, 1])
  t.equal(s.endsAtMs, base + 2000)
  // five seconds on, the slot of `base` is reused: the old count is gone, not added to
  h.record('accelerometer', 7, base + 5000)
  s = h.series(base + 5000)
  t.same(s.series.accelerometer, [0, 0, 0, 0, 7])
  t.same(s.series.step_trainer, [0, 1, 0, 0, 0])
})

t.test('quantiles come from the histogram buckets as Prometheus computes them', async (t) => {
  const h = new Histogram('x', 'x', [0.001, 0.01, 0.1, 1])
  t.equal(h.quantile(0.5), undefined)
  for (let i = 0; i < 90; i++) h.observe(0.0005)
  for (let i = 0; i < 10; i++) h.observe(0.05)
  t.equal(h.count, 100)
  t.equal(h.quantile(0.5), 0.001 * 50 / 90)
  t.ok(Math.abs(h.quantile(0.99)! - (0.01 + 0.09 * 9 / 10)) < 1e-12)
  h.observe(5)
  t.equal(h.quantile(1), 1, 'beyond the last bucket: its bound')
})

t.test('a counter sums by one label', async (t) => {
  const c = new Counter('c', 'c')
  c.inc({ dataset: 'a', reason: 'invalid_json' }, 2)
  c.inc({ dataset: 'b', reason: 'invalid_json' })
  c.inc({ reason: 'with "quote"', dataset: 'a' })
  t.same(c.by('reason'), { invalid_json: 3, 'with "quote"': 1 })
  t.same(c.by('dataset'), { a: 3, b: 1 })
})

t.test('loopback addresses', async (t) => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) t.ok(isLoopback(a), a)
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '192.168.1.5', '2001:db8::1', undefined]) t.notOk(isLoopback(a), String(a))
})

t.test('the console is open to loopback clients; from elsewhere it needs a service credential', async (t) => {
  const { gateway } = await startGateway(t)
  const get = async (url: string, remoteAddress: string, headers: Record<string, string> = {}): Promise<{ status: number, body: string, type: string }> => {
    const res = await gateway.http.inject({ method: 'GET', url, remoteAddress, headers })
    return { status: res.statusCode, body: res.body, type: String(res.headers['content-type']) }
  }
  const service = credential('service', 'ops')
  for (const url of ['/', '/v1/console']) {
    t.equal((await get(url, '127.0.0.1')).status, 200, `${url} loopback`)
    t.equal((await get(url, '::1')).status, 200, `${url} loopback v6`)
    t.equal((await get(url, '10.1.2.3')).status, 401, `${url} remote without a credential`)
    t.equal((await get(`${url}?token=nonsense`, '10.1.2.3')).status, 401, `${url} remote, a token that is not valid`)
    t.equal((await get(url, '10.1.2.3', { authorization: `Bearer ${credential('accelerometer', 'a@test.com')}` })).status, 403, `${url} remote, a device credential`)
    t.equal((await get(url, '10.1.2.3', { authorization: `Bearer ${service}` })).status, 200, `${url} remote, a service bearer`)
    t.equal((await get(`${url}?token=${encodeURIComponent(service)}`, '10.1.2.3')).status, 200, `${url} remote, a service ?token=`)
  }
  const page = await get('/', '127.0.0.1')
  t.match(page.type, /text\/html/)
  t.match(page.body, /id="devices-accelerometer"/)
  t.notMatch(page.body, /<script[^>]+src=/, 'no external script')
  const view = JSON.parse((await get('/v1/console', '127.0.0.1')).body) as Record<string, any>
  t.same(Object.keys(view).sort(), ['ackLatencyMs', 'authFailures', 'devices', 'freshness', 'generatedAt', 'landing', 'outbox', 'pipeline', 'readings', 'refusals', 'rejected', 'uptimeSeconds'])
  t.equal(view.pipeline, null, 'the gateway alone has no lakehouse')
  t.equal(view.readings.history.series.accelerometer.length, 900)
  t.equal(view.authFailures.byReason.credential_not_valid, 2, 'the two tokens that were not valid are failed logins')
})

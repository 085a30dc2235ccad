// Issue 10: the gateway's promises under a mix of honest devices (restarts that reset their seq,
// duplicates, dropped connections, offline backlogs flushed at once, HTTP devices told to retry),
// hostile connections (giant CONNECTs, slow bodies, idle sockets, bad logins) and a SIGKILL and
// restart. Reconciled exactly afterwards: every reading that got a PUBACK or a 2xx landed once,
// every refusal is in the ledger with its reason, the gateway stayed ready. SOAK_MS sets the length
// (45 s here; `npm run bench:soak` runs it for 10 minutes).
import path from 'node:path'
import t from 'tap'
import { openDatabase } from '../../common/sqlite.js'
import { runSoak } from '../../simulator/soak.js'
import { SECRET, credential, landedLines } from '../helpers/gateway.js'
import { startGatewayProcess } from '../helpers/gateway-process.js'
import { tempDir } from '../helpers/index.js'

const DURATION_MS = Number(process.env.SOAK_MS ?? 45_000)

t.test('soak: honest and hostile clients, a SIGKILL and a restart; every acknowledged reading lands once', { timeout: DURATION_MS + 240_000 }, async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const state = path.join(dir, 'state')
  // a low rate limit and a short wait, so that backlogs and HTTP devices are refused for real
  const gw = await startGatewayProcess({ landing, state, secret: SECRET, args: ['--rate-limit', '200', '--max-ack-delay', '500ms', '--max-batch-age', '200ms', '--connect-timeout', '3s', '--request-timeout', '5s'] })
  t.teardown(async () => { await gw.kill() })
  const result = await runSoak({
    gateway: gw,
    credential,
    durationMs: DURATION_MS,
    killAtMs: Math.round(DURATION_MS * 0.4),
    devices: 40,
    backlogPhones: 4,
    httpDevices: 4,
    hostileConnections: 200,
    seed: 10,
    onProgress: (m) => t.comment(m)
  })
  // the final process's own count of the refusals it recorded, before it stops
  const metrics = await (await fetch(`http://127.0.0.1:${gw.httpPort}/metrics`)).text()
  t.equal(await gw.stop(), 0, 'SIGTERM: lands what waits, exit 0')

  t.comment(JSON.stringify({ acknowledgedBy: result.acknowledgedBy, backlogResends: result.backlogResends, httpRefusals: result.httpRefusals.length, hostile: result.hostile, devices: result.devices, readyChecks: result.readyChecks }))
  t.ok(result.acknowledgedBy.mqtt > 0 && result.acknowledgedBy.backlog > 0 && result.acknowledgedBy.http > 0, 'every path had readings acknowledged')
  t.ok(result.devices.restarts > 0 && result.devices.reconnects > 0 && result.devices.faults > 0, 'devices restarted, reconnected and misbehaved')
  t.ok(result.backlogResends > 0 && result.httpRefusals.length > 0, 'backlogs and HTTP devices were refused for real')
  t.ok(result.hostile.opened > 200 && result.hostile.closedByGateway > 0, `hostile connections: ${result.hostile.opened} opened, ${result.hostile.closedByGateway} closed by the gateway`)
  t.same(result.notReady, [], `ready all along (${result.readyChecks} checks), but for the kill and restart`)

  const lines = [...await landedLines(landing, 'accelerometer'), ...await landedLines(landing, 'step_trainer')]
  const counts = new Map<string, number>()
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1)
  const lost = [...result.acknowledged].filter((l) => !counts.has(l))
  const twice = [...counts].filter(([, n]) => n > 1)
  t.equal(lost.length, 0, `every one of the ${result.acknowledged.size} acknowledged readings landed (${lost.slice(0, 3).join(' ')})`)
  t.equal(twice.length, 0, `none landed twice (${twice.slice(0, 3).map(([l]) => l).join(' ')})`)

  const ledger = await openDatabase(path.join(state, 'ledger.sqlite'), { readOnly: true })
  t.teardown(async () => { await ledger.close() })
  const missing = []
  for (const r of result.httpRefusals) {
    const reason = r.status === 429 ? 'rate_limited' : 'overloaded'
    const row = await ledger.get('SELECT 1 AS yes FROM rejections WHERE device = ? AND seq = ? AND reason = ? AND acknowledged = 0', [r.device, r.seq, reason])
    if (row === undefined) missing.push(r)
  }
  t.same(missing, [], `each of the ${result.httpRefusals.length} HTTP refusals is in the ledger under its seq and reason`)
  const counted = [...metrics.matchAll(/^stedi_refusals_total\{([^}]*)\} (\d+)$/gm)].filter(([, labels]) => labels.includes('transport="mqtt"')).reduce((a, m) => a + Number(m[2]), 0)
  const recorded = await ledger.get<{ n: number }>(
    "SELECT count(*) AS n FROM rejections WHERE acknowledged = 0 AND received_ms >= ? AND device NOT LIKE 'step-trainer/soak-http-%'", [result.restartedAtMs])
  t.ok(counted > 0, `MQTT messages refused after the restart: ${counted}`)
  t.equal(recorded!.n, counted, 'each MQTT refusal after the restart is in the ledger')
})

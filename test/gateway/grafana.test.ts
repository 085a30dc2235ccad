// The Grafana dashboard in deploy/grafana reads only metrics the gateway exports: every series a
// panel queries is in a live gateway's /metrics (a renamed metric would leave a panel empty).
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/index.js'
import { startGateway } from '../helpers/gateway.js'

t.test('every metric the dashboard queries is exported by the gateway', async (t) => {
  const dashboard = JSON.parse(await fs.readFile(path.join(ROOT, 'deploy/grafana/stedi-gateway.json'), 'utf8')) as { uid: string, panels: Array<{ title: string, targets: Array<{ expr: string }> }> }
  t.equal(dashboard.uid, 'stedi-gateway')
  const gw = await startGateway(t)
  const exported = await (await fetch(`${gw.httpUrl}/metrics`)).text()
  const types = new Set([...exported.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]))
  const queried = new Set<string>()
  for (const panel of dashboard.panels) {
    t.ok(panel.targets.length > 0, `${panel.title}: has a query`)
    for (const target of panel.targets) {
      for (const m of target.expr.matchAll(/\b((?:stedi|process)_[a-z_]+)\b/g)) queried.add(m[1].replace(/_(bucket|sum|count)$/, ''))
    }
  }
  t.ok(queried.size >= 15, `${queried.size} metrics queried`)
  for (const name of queried) t.ok(types.has(name), `${name} is exported`)
})

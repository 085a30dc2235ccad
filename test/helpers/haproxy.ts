// A real TCP load balancer in front of several gateways: HAProxy from Debian (installed by .ci/run),
// on free ports, with health checks every 200 ms so that a killed gateway is taken out quickly.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { freePort } from './gateway-process.js'
import { tempDir } from './index.js'

export interface Balancer { mqttPort: number, httpPort: number }

type Teardown = { teardown: (fn: () => Promise<void> | void) => void }

export async function startHaproxy (t: Teardown, backends: Array<{ mqttPort: number, httpPort: number }>): Promise<Balancer> {
  const dir = await tempDir(t, 'stedi-haproxy-')
  const mqttPort = await freePort()
  const httpPort = await freePort()
  const servers = (kind: 'mqttPort' | 'httpPort'): string =>
    backends.map((b, i) => `  server g${i + 1} 127.0.0.1:${b[kind]} check inter 200ms fall 1 rise 1`).join('\n')
  const config = `global
  maxconn 4000
defaults
  mode tcp
  timeout connect 1s
  timeout client 120s
  timeout server 120s
frontend mqtt
  bind 127.0.0.1:${mqttPort}
  default_backend mqtt
backend mqtt
  balance roundrobin
${servers('mqttPort')}
frontend http
  bind 127.0.0.1:${httpPort}
  default_backend http
backend http
  balance roundrobin
${servers('httpPort')}
`
  const file = path.join(dir, 'haproxy.cfg')
  await fs.writeFile(file, config)
  const child = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  child.on('error', (e) => { err += e.message })
  t.teardown(async () => { child.kill('SIGTERM'); await exited })
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(httpPort, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (up) return { mqttPort, httpPort }
    if (child.exitCode !== null || i > 100) throw new Error(`haproxy did not start (is it installed? apt-get install haproxy): ${err}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

// `stedi gateway` as a child process on fixed ports, so that it can be killed (SIGKILL) and
// started again where devices expect it. Shared by the soak test and bench/soak.ts.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import net from 'node:net'
import { STEDI_BIN } from './index.js'

export async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface GatewayProcess {
  host: string
  mqttPort: number
  httpPort: number
  kill: () => Promise<void>
  restart: () => Promise<void>
  /** SIGTERM: resolves with the exit code */
  stop: () => Promise<number | null>
  /** everything the processes wrote on stderr */
  stderr: () => string
}

export async function startGatewayProcess (options: { landing: string, state: string, secret: string, args?: string[], mqttPort?: number, httpPort?: number }): Promise<GatewayProcess> {
  const mqttPort = options.mqttPort ?? await freePort()
  const httpPort = options.httpPort ?? await freePort()
  let child: ChildProcessWithoutNullStreams | undefined
  let exited: Promise<number | null> = Promise.resolve(null)
  let err = ''
  const launch = async (): Promise<void> => {
    const c = spawn(process.execPath, [STEDI_BIN, 'gateway', '--landing', options.landing, '--state', options.state,
      '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), ...(options.args ?? [])],
    { env: { ...process.env, STEDI_GATEWAY_SECRET: options.secret } })
    child = c
    exited = new Promise((resolve) => c.on('exit', (code) => resolve(code)))
    c.stderr.on('data', (d: Buffer) => { err += d.toString() })
    await new Promise<void>((resolve, reject) => {
      let out = ''
      c.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) resolve() })
      void exited.then((code) => reject(new Error(`gateway exited (${String(code)}) before ready: ${out}${err.slice(-2000)}`)))
    })
  }
  await launch()
  return {
    host: '127.0.0.1',
    mqttPort,
    httpPort,
    kill: async () => { child?.kill('SIGKILL'); await exited },
    restart: launch,
    stop: async () => { child?.kill('SIGTERM'); return await exited },
    stderr: () => err
  }
}

export interface PlatformProcess {
  /** the HTTP and MQTT addresses it printed */
  http: string
  mqtt: string
  /** POSTs JSON with a credential; resolves with the status */
  post: (route: string, body: unknown, token: string) => Promise<number>
  /** SIGTERM: resolves with the exit code */
  stop: () => Promise<number | null>
}

/** `stedi start` over a var folder on free ports, promoting every second, killed at teardown. */
export async function startPlatformProcess (t: { teardown: (fn: () => void) => void }, varDir: string, secret: string): Promise<PlatformProcess> {
  const child = spawn(process.execPath, [STEDI_BIN, 'start', '--var', varDir, '--mqtt-port', '0', '--http-port', '0', '--every', '1s'],
    { env: { ...process.env, STEDI_GATEWAY_SECRET: secret } })
  t.teardown(() => { child.kill('SIGKILL') })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  child.stderr.resume()
  const { http, mqtt } = await new Promise<{ http: string, mqtt: string }>((resolve) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /(mqtt:\/\/\S+) .*(http:\/\/\S+)/.exec(out)
      if (m !== null) resolve({ mqtt: m[1], http: m[2] })
    })
  })
  const post = async (route: string, body: unknown, token: string): Promise<number> => (await fetch(`${http}${route}`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body)
  })).status
  return { http, mqtt, post, stop: async () => { child.kill('SIGTERM'); return await exited } }
}

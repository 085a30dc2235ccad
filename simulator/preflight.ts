// What the simulator and the load test check before they start hundreds of devices: that the
// target is this machine (unless allowed), that something listens at each URL, and that the
// gateway takes our credentials. A device retries a refused or failed connection for ever, as
// firmware must; a tool must instead stop within seconds and say which of these went wrong.
import net from 'node:net'
import mqtt from 'mqtt'
import { SimulatorError } from './errors.js'

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/
const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443, 'http:': 80, 'https:': 443 }

function parseUrl (url: string): URL {
  try {
    return new URL(url)
  } catch {
    throw new SimulatorError('SIM_ERR_REMOTE_TARGET', `${url} is not a URL (such as mqtt://127.0.0.1:1883 or http://127.0.0.1:8080)`)
  }
}

export function checkTarget (url: string, allowRemote: boolean): void {
  const host = parseUrl(url).hostname
  if (!allowRemote && !LOOPBACK.test(host)) {
    throw new SimulatorError('SIM_ERR_REMOTE_TARGET', `${url} is not a loopback address: load tests and simulations stay on this machine unless --allow-remote is given`)
  }
}

/** Resolves once a TCP connection to the URL's host and port opens; names the URL when none does. */
export async function checkReachable (url: string, timeoutMs = 5000): Promise<void> {
  const u = parseUrl(url)
  const port = u.port === '' ? DEFAULT_PORTS[u.protocol] : Number(u.port)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port })
    const fail = (why: string): void => {
      socket.destroy()
      reject(new SimulatorError('SIM_ERR_UNREACHABLE', `could not reach ${url}: ${why}; is the gateway running there (stedi gateway, stedi start)?`))
    }
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs / 1000} s`))
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ECONNREFUSED' ? 'nothing listens there (connection refused)' : (err.code ?? err.message)))
    socket.once('connect', () => { socket.end(); resolve() })
  })
}

// CONNACK return codes of MQTT 3.1.1 (4, 5) and reason codes of MQTT 5 that refuse a client's credentials
const REFUSALS: Record<number, string> = { 4: 'bad user name or password', 5: 'not authorized', 0x86: 'bad user name or password', 0x87: 'not authorized' }

/**
 * Connects once with a credential as the devices will, and closes. A refusal is reported by what
 * was refused (a device kind and a count, never an email or a serial number in clear).
 */
export async function checkMqttCredentials (url: string, who: string, identity: string, credential: string, timeoutMs = 10_000): Promise<void> {
  const client = mqtt.connect(url, { username: identity, password: credential, reconnectPeriod: 0, connectTimeout: timeoutMs, clean: true })
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', (err: Error & { code?: unknown }) => {
        const reason = typeof err.code === 'number' ? REFUSALS[err.code] : undefined
        reject(reason !== undefined
          ? refused(who, `CONNACK ${err.code}: ${reason}`)
          : new SimulatorError('SIM_ERR_UNREACHABLE', `could not connect to ${url}: ${err.message}; is the gateway running there?`))
      })
      client.once('close', () => reject(new SimulatorError('SIM_ERR_UNREACHABLE', `${url} closed the connection before answering; is it the gateway's MQTT port?`)))
    })
  } finally {
    await client.endAsync(true).catch(() => undefined)
  }
}

export function refused (who: string, how: string): SimulatorError {
  return new SimulatorError('SIM_ERR_CREDENTIALS_REFUSED', `the gateway refused the credentials of ${who} (${how}): set STEDI_GATEWAY_SECRET to the gateway's secret`)
}

/** Throws SIM_ERR_CREDENTIALS_REFUSED for a 401/403 of the gateway's HTTP API, SIM_ERR_GATEWAY for another failure. */
export async function checkHttpAnswer (res: Response, who: string, what: string): Promise<void> {
  if (res.ok) return
  if (res.status === 401 || res.status === 403) throw refused(who, `HTTP ${res.status}`)
  throw new SimulatorError('SIM_ERR_GATEWAY', `${what}: the gateway answered HTTP ${res.status} ${(await res.text()).slice(0, 200)}`)
}

/** fetch, with a failure to connect named by its URL */
export async function fetchGateway (url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    throw new SimulatorError('SIM_ERR_UNREACHABLE', `could not reach ${new URL(url).origin}: ${cause?.code === 'ECONNREFUSED' ? 'nothing listens there (connection refused)' : (cause?.code ?? (err as Error).message)}; is the gateway running there?`, { cause: err })
  }
}

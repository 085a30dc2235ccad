// versitygw (Apache-2.0), an S3 server over a local folder: the object store of the tests and of a
// user's local bucket. The project installs it itself (`stedi s3 setup`: `go install` of a pinned
// version into .cache/bin, about 2 minutes the first time) and starts it on a port of its choosing.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { packageRoot } from './package-root.js'

export const VERSITYGW_VERSION = 'v1.8.0'
const MODULE = 'github.com/versity/versitygw/cmd/versitygw'
const STAMP = 'versitygw.version'

export function versitygwBinary (): string {
  return path.join(packageRoot(), '.cache', 'bin', 'versitygw')
}

/** The installed version, or undefined when it is not installed (or not by us). */
export function installedVersitygw (): string | undefined {
  const stamp = path.join(path.dirname(versitygwBinary()), STAMP)
  if (!fs.existsSync(versitygwBinary()) || !fs.existsSync(stamp)) return undefined
  return fs.readFileSync(stamp, 'utf8').trim()
}

/** `go install` of the pinned version into .cache/bin; throws with go's last line on failure. */
export function installVersitygw (): void {
  const bin = path.dirname(versitygwBinary())
  fs.mkdirSync(bin, { recursive: true })
  const go = ['go', '/usr/local/go/bin/go'].find((g) => spawnSync(g, ['version']).status === 0)
  if (go === undefined) throw new Error('Go is needed to install versitygw (go install): install Go 1.22 or later')
  const r = spawnSync(go, ['install', '-trimpath', '-ldflags', '-s -w', `${MODULE}@${VERSITYGW_VERSION}`], {
    env: { ...process.env, GOBIN: bin }, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe']
  })
  if (r.status !== 0) throw new Error(`go install ${MODULE}@${VERSITYGW_VERSION} failed: ${r.stderr.trim().split('\n').at(-1) ?? `exit ${String(r.status)}`}`)
  fs.writeFileSync(path.join(bin, STAMP), `${VERSITYGW_VERSION}\n`)
}

export interface VersitygwOptions {
  /** the folder its buckets are sub-folders of */
  dir: string
  host: string
  port: number
  accessKey: string
  secretKey: string
}

export interface RunningVersitygw {
  child: ChildProcess
  endpoint: string
  stop: () => Promise<void>
}

/** Starts versitygw and resolves once its health check answers; rejects if it exits first. */
export async function startVersitygw (options: VersitygwOptions, readyWithinMs = 10_000): Promise<RunningVersitygw> {
  if (installedVersitygw() !== VERSITYGW_VERSION) {
    throw new Error(`versitygw ${VERSITYGW_VERSION} is not installed at ${versitygwBinary()}: run \`npx stedi s3 setup\` (go install, about 2 minutes)`)
  }
  fs.mkdirSync(options.dir, { recursive: true })
  const child = spawn(versitygwBinary(), ['--port', `${options.host}:${options.port}`, '--health', '/health', '--quiet', 'posix', options.dir], {
    env: { ...process.env, ROOT_ACCESS_KEY: options.accessKey, ROOT_SECRET_KEY: options.secretKey },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000) })
  const endpoint = `http://${options.host}:${options.port}`
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  const deadline = Date.now() + readyWithinMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`versitygw exited at start: ${stderr.trim().split('\n').at(-1) ?? ''}`)
    const ok = await fetch(`${endpoint}/health`).then((r) => r.ok, () => false)
    if (ok) return { child, endpoint, stop }
    if (Date.now() > deadline) { await stop(); throw new Error(`versitygw did not answer on ${endpoint} within ${readyWithinMs} ms: ${stderr}`) }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A port nobody listens on now (another process may take it before we do: callers retry). */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

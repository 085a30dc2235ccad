// Runs a command as a child process and measures its wall time, peak memory (max RSS) and CPU time.
// The child reports its own rusage on exit through file descriptor 3, so no outside tool is needed.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface Measurement { wallMs: number, maxRssMb: number, cpuMs: number, code: number | null, stdout: string, stderr: string }

const REPORTER = fileURLToPath(new URL('./report-rusage.mjs', import.meta.url))

export interface MeasuredChild {
  child: ChildProcess
  /** resolves when the child has exited */
  done: Promise<Measurement>
}

/** Starts node on a script with the rusage reporter; onStdout/onStderr see the output as it comes. */
export function spawnMeasured (script: string, args: string[], env: NodeJS.ProcessEnv = {},
  hooks: { onStdout?: (chunk: string) => void, onStderr?: (chunk: string) => void } = {}): MeasuredChild {
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', REPORTER, script, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  let usage = ''
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); hooks.onStdout?.(d.toString()) })
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); hooks.onStderr?.(d.toString()) })
  ;(child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => { usage += d.toString() })
  const done = new Promise<Measurement>((resolve) => child.on('close', (code) => {
    const u = usage === '' ? undefined : JSON.parse(usage) as { maxRSS: number, userCPUTime: number, systemCPUTime: number }
    resolve({
      wallMs: performance.now() - started,
      maxRssMb: u === undefined ? NaN : u.maxRSS / 1024,
      cpuMs: u === undefined ? NaN : (u.userCPUTime + u.systemCPUTime) / 1000,
      code, stdout, stderr
    })
  }))
  return { child, done }
}

export async function measureNode (script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Measurement> {
  return await spawnMeasured(script, args, env).done
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// Runs a command as a child process and measures its wall time, peak memory (max RSS) and CPU time
// (user + system, all threads: on a shared machine less noisy than wall time). The child reports
// its own rusage on exit through file descriptor 3, so no outside tool is needed.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface Measurement { wallMs: number, maxRssMb: number, cpuMs: number, code: number | null, stdout: string, stderr: string }

const REPORTER = fileURLToPath(new URL('./report-rusage.mjs', import.meta.url))

export async function measureNode (script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Measurement> {
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', REPORTER, script, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  let usage = ''
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  ;(child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => { usage += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const wallMs = performance.now() - started
  const { maxRSS = NaN, cpuUs = NaN } = usage === '' ? {} : JSON.parse(usage) as { maxRSS: number, cpuUs: number }
  return { wallMs, maxRssMb: maxRSS / 1024, cpuMs: cpuUs / 1000, code, stdout, stderr }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

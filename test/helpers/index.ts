// Shared test helpers: where the published data is, how to run the CLI as a user would, and how
// to write landing files of one's own.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DATASETS, type DatasetName } from '../../contracts/datasets.js'
import { createPipelineConfig, type PipelineConfigInput } from '../../pipeline/config.js'
import { runPipeline } from '../../pipeline/run.js'
import type { RunReport } from '../../pipeline/report.js'
import { openSnapshot, querySnapshot } from '../../pipeline/snapshot.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/** The published STEDI data, read in place (never copied, never written). */
export const PUBLISHED = path.resolve(ROOT, '../shared/data/stedi')
export const STEDI_BIN = path.join(ROOT, 'bin/stedi.js')

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/** Runs a program to its end, collecting what it prints. */
export async function spawnCollect (command: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  return await new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

export async function cli (args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return await spawnCollect(process.execPath, [STEDI_BIN, ...args], options)
}

/** `stedi pipeline run ARGS` (or another command) stopped by its pause hook after `point`, holding the lakehouse. */
export async function startPausedRun (args: string[], point: string, options: { command?: string[], env?: NodeJS.ProcessEnv } = {}): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, [STEDI_BIN, ...(options.command ?? ['pipeline', 'run']), ...args, '--pause-after', point], { env: { ...process.env, ...options.env } })
  return await new Promise((resolve, reject) => {
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (stderr.includes(`paused after ${point}`)) resolve(child)
    })
    child.on('exit', (code) => reject(new Error(`exited ${String(code)} before pausing: ${stderr}`)))
  })
}

export async function killChild (child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

/** Writes one landing file: lines as given (strings are written as they are, objects as JSON). */
export async function writeLanding (landing: string, dataset: DatasetName, name: string, lines: ReadonlyArray<string | object>, eol = '\n'): Promise<string> {
  const dir = path.join(landing, DATASETS[dataset].landingDir)
  await fs.mkdir(dir, { recursive: true })
  const file = path.join(dir, name)
  await fs.writeFile(file, lines.map((l) => typeof l === 'string' ? l : JSON.stringify(l)).join(eol) + eol)
  return file
}

export async function run (input: Partial<PipelineConfigInput> & { landingDir: string, lakehouseDir: string }): Promise<RunReport> {
  return await runPipeline(createPipelineConfig({ threads: 2, ...input }))
}

/** Rows of a query on the lakehouse's current versions, as plain objects. */
export async function rows (lakehouse: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const result = await querySnapshot(await openSnapshot(lakehouse), sql)
  return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]])))
}

/** An instant (epoch ms) in June 2022, as the published data's: customer dates must be real dates. */
export const T0 = 1_655_564_000_000

export const customer = (email: string, serialNumber: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  customerName: 'Test Person', email, phone: '8015551212', birthDay: '1990-01-01', serialNumber,
  registrationDate: T0, lastUpdateDate: T0, ...extra
})

/** A fresh temporary folder for each call, removed when the test ends. */
export async function tempDir (t: { teardown: (fn: () => Promise<void> | void) => void }, prefix = 'stedi-test-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join((await import('node:os')).tmpdir(), prefix))
  t.teardown(async () => { await fs.rm(dir, { recursive: true, force: true }) })
  return dir
}

/** Row count and an order-independent hash of every row of a table (lineage columns left out). */
export async function fingerprint (lakehouse: string, table: string): Promise<{ n: unknown, h: unknown }> {
  const lineage = table === 'customer_landing' ? ' EXCLUDE (_run, _file, _line)' : table.endsWith('_landing') ? ' EXCLUDE (_run, _file)' : table.endsWith('_quarantine') ? ' EXCLUDE (_run)' : ''
  const [row] = await rows(lakehouse, `SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM (SELECT *${lineage} FROM ${table}) t`)
  return { n: row.n, h: row.h }
}

/** A landing folder made of symbolic links to some of the published files (nothing is copied). */
export async function linkPublished (landing: string, pick: (relPath: string, index: number) => boolean): Promise<string[]> {
  const linked: string[] = []
  let i = 0
  for (const dir of ['customer/landing', 'accelerometer/landing', 'step_trainer/landing']) {
    await fs.mkdir(path.join(landing, dir), { recursive: true })
    for (const name of (await fs.readdir(path.join(PUBLISHED, dir))).sort()) {
      const rel = `${dir}/${name}`
      if (pick(rel, i++)) {
        await fs.symlink(path.join(PUBLISHED, rel), path.join(landing, rel))
        linked.push(rel)
      }
    }
  }
  return linked
}

/** A writable copy of the published landing files (for tests that erase or retire landing files). */
export async function copyPublished (to: string): Promise<void> {
  await fs.cp(PUBLISHED, to, { recursive: true, filter: (src) => !src.endsWith('README.md') })
}

/** Every file and folder below dir with its size, sorted: a folder's content, to compare before and after. */
export async function fileTree (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(e.parentPath, e.name)
    out.push(`${path.relative(dir, full)} ${e.isDirectory() ? 'dir' : String((await fs.stat(full)).size)}`)
  }
  return out.sort()
}

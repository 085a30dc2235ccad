// Finds the landing files: `<landing>/<dataset>/landing/*.json`, sorted by name (which, for files the
// gateway writes, is arrival order). Temporary and hidden files are not landing files.
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASETS, DATASET_NAMES, type DatasetName, isLandingFileName } from '../../contracts/datasets.js'
import { PipelineError } from '../errors.js'

export interface LandingFile {
  dataset: DatasetName
  /** path relative to the landing root, with forward slashes: the file's name in the lakehouse */
  relPath: string
  absPath: string
  size: number
  mtimeMs: number
}

export async function listLandingFiles (landingDir: string): Promise<LandingFile[]> {
  return (await scanLanding(landingDir)).files
}

/**
 * The landing files, and warnings about what looks like landing data but is not read: a folder
 * named like a dataset's but not exactly (step-trainer/, stepTrainer/, Customer/), files of another
 * JSON-lines suffix (.ndjson, .jsonl) in a dataset's folders. Each would otherwise be a silent zero.
 */
export async function scanLanding (landingDir: string): Promise<{ files: LandingFile[], warnings: string[] }> {
  const root = path.resolve(landingDir)
  const rootStat = await fs.stat(root).catch(() => undefined)
  if (rootStat === undefined || !rootStat.isDirectory()) {
    throw new PipelineError('PIPE_ERR_LANDING_MISSING',
      `landing folder ${root} does not exist: pass --landing with the folder that holds customer/landing, accelerometer/landing and step_trainer/landing`,
      { path: root })
  }
  const files: LandingFile[] = []
  let datasetDirs = 0
  for (const dataset of DATASET_NAMES) {
    const dir = path.join(root, DATASETS[dataset].landingDir)
    let entries
    try {
      entries = await fs.readdir(dir, { withFileTypes: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw unreadable(dir, err)
    }
    datasetDirs++
    for (const entry of entries) {
      if (!isLandingFileName(entry.name) || !(entry.isFile() || entry.isSymbolicLink())) continue
      const absPath = path.join(dir, entry.name)
      const stat = await fs.stat(absPath).catch((err: unknown) => { throw unreadable(absPath, err) })
      if (!stat.isFile()) continue
      files.push({
        dataset,
        relPath: `${DATASETS[dataset].landingDir}/${entry.name}`,
        absPath,
        size: stat.size,
        mtimeMs: stat.mtimeMs
      })
    }
  }
  if (datasetDirs === 0) {
    const alike = (await lookAlikes(root)).map((w) => w.replace(/^warning: /, ''))
    throw new PipelineError('PIPE_ERR_LANDING_EMPTY_LAYOUT',
      `landing folder ${root} has none of customer/landing, accelerometer/landing, step_trainer/landing: is --landing the right folder?` +
      (alike.length > 0 ? ` (${alike.join('; ')})` : ''),
      { path: root })
  }
  files.sort((a, b) => a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0)
  return { files, warnings: await lookAlikes(root) }
}

const OTHER_SUFFIXES = ['.ndjson', '.jsonl']
const squash = (name: string): string => name.toLowerCase().replace(/[-_ .]/g, '').replace(/s$/, '')

async function lookAlikes (root: string): Promise<string[]> {
  const warnings: string[] = []
  const names = async (dir: string): Promise<Array<{ name: string, dir: boolean }>> =>
    (await fs.readdir(dir, { withFileTypes: true }).catch(() => [])).map((e) => ({ name: e.name, dir: e.isDirectory() }))
  const tops = DATASET_NAMES.map((d) => DATASETS[d].landingDir.split('/')[0])
  for (const entry of await names(root)) {
    const like = tops.find((top) => squash(top) === squash(entry.name))
    if (entry.dir && like !== undefined && entry.name !== like) {
      warnings.push(`warning: landing folder ${root} has ${entry.name}/, which is not read: the pipeline reads ${like}/landing/ (rename the folder)`)
    }
  }
  for (const dataset of DATASET_NAMES) {
    const landing = DATASETS[dataset].landingDir
    for (const rel of [landing.split('/')[0], landing]) {
      const odd = (await names(path.join(root, rel))).filter((e) => !e.dir && OTHER_SUFFIXES.some((s) => e.name.endsWith(s)))
      if (odd.length === 0) continue
      warnings.push(`warning: ${odd.length} file(s) in ${rel}/ end in ${[...new Set(odd.map((e) => path.extname(e.name)))].join(' or ')}, which is not read ` +
        `(such as ${rel}/${odd[0].name}): landing files are ${landing}/*.json (rename them)`)
    }
  }
  return warnings
}

export function unreadable (file: string, err: unknown): PipelineError {
  const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
  return new PipelineError('PIPE_ERR_LANDING_UNREADABLE',
    `cannot read landing file ${file} (${reason}): fix its permissions or move it out of the landing folder, then run again`,
    { path: file, cause: err })
}

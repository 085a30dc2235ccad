// Landing folders for the benchmarks: hard links to a cached N-fold copy of the published data
// (nothing copied), beside which runs and gateways add their own files.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaleLanding } from './scale.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const PUBLISHED = path.resolve(ROOT, '../shared/data/stedi')
const CACHE = path.join(ROOT, 'bench/.cache')

/** A landing folder of hard links to every .json file below source, in the same layout. */
export async function linkedLanding (source: string, target: string): Promise<void> {
  for (const entry of await fs.readdir(source, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.json')) continue
    const rel = path.relative(source, path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))
    await fs.mkdir(path.dirname(path.join(target, rel)), { recursive: true })
    await fs.link(path.join(source, rel), path.join(target, rel))
  }
}

/**
 * A temporary folder (`work`, the caller removes it) with `landing`, hard links to the x`copies`
 * copy in bench/.cache (made there once), and the path of a lakehouse not made yet.
 */
export async function scaledWorkspace (copies: number, prefix: string, log: (m: string) => void): Promise<{ work: string, landing: string, lakehouse: string }> {
  const source = path.join(CACHE, `x${copies}`)
  log(`x${copies}: preparing the copy in ${source} (once)`)
  await scaleLanding(PUBLISHED, source, copies)
  const work = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
  const landing = path.join(work, 'landing')
  await linkedLanding(source, landing)
  return { work, landing, lakehouse: path.join(work, 'lakehouse') }
}

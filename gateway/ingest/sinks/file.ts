// The default sink: landing files on local disk, in the layout the pipeline reads. A file appears
// whole: written under a hidden temporary name the pipeline never reads, fsync'd, renamed, and the
// folder fsync'd. Republishing a flush (after a crash) rewrites the same name with the same lines.
import fs from 'node:fs/promises'
import { constants } from 'node:fs'
import path from 'node:path'
import { DATASETS, DATASET_NAMES } from '../../../contracts/datasets.js'
import { fsyncDir } from '../../../common/durable-fs.js'
import { GatewayError } from '../../errors.js'
import type { Flush } from '../../outbox/outbox.js'
import type { Sink } from './sink.js'

export async function createFileSink (landingDir: string): Promise<Sink> {
  try {
    for (const d of DATASET_NAMES) await fs.mkdir(path.join(landingDir, DATASETS[d].landingDir), { recursive: true })
  } catch (err) {
    throw new GatewayError('GW_ERR_LANDING', `cannot create the landing folders under ${landingDir}: ${(err as Error).message}`, { cause: err })
  }
  return {
    name: 'file',
    publish: async (flush: Flush, files: Array<{ file: string, lines: string[] }>) => {
      const dir = path.join(landingDir, DATASETS[flush.dataset].landingDir)
      for (const { file, lines } of files) {
        const tmp = path.join(dir, `.${file}.tmp`)
        const handle = await fs.open(tmp, 'w')
        try {
          await handle.writeFile(lines.join('\n') + '\n')
          await handle.sync()
        } finally {
          await handle.close()
        }
        await fs.rename(tmp, path.join(dir, file))
      }
      await fsyncDir(dir)
    },
    check: async () => {
      for (const d of DATASET_NAMES) {
        const dir = path.join(landingDir, DATASETS[d].landingDir)
        try { await fs.access(dir, constants.W_OK) } catch { return `landing folder ${dir} is not writable` }
      }
      return undefined
    },
    close: async () => {}
  }
}

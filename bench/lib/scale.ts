// Builds an N-fold copy of a landing dataset: each copy gets its own emails, serial numbers and
// timestamps shifted by 30 days, so no join crosses copies and every count grows exactly N-fold.
// The same records can also be laid out as one file per dataset (a batch export, or Firehose with
// large buffers), to measure big files against many small ones.
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASETS, DATASET_NAMES } from '../../contracts/datasets.js'

const SHIFT_MS = 30 * 86_400_000
const TIME_FIELDS = ['timestamp', 'sensorReadingTime', 'registrationDate', 'lastUpdateDate',
  'shareWithResearchAsOfDate', 'shareWithPublicAsOfDate', 'shareWithFriendsAsOfDate']

export async function scaleLanding (source: string, out: string, copies: number): Promise<void> {
  await once(out, `x${copies}`, async () => {
    for (const dataset of DATASET_NAMES) {
      const dir = path.join(source, DATASETS[dataset].landingDir)
      const target = path.join(out, DATASETS[dataset].landingDir)
      await fs.mkdir(target, { recursive: true })
      for (const name of await landingNames(dir)) {
        const records = (await fs.readFile(path.join(dir, name), 'utf8')).split('\n').filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>)
        for (let k = 0; k < copies; k++) {
          const tag = String(k).padStart(2, '0')
          const lines = records.map((r) => {
            const c: Record<string, unknown> = { ...r }
            if (typeof c.email === 'string') c.email = c.email.replace('@', `+c${tag}@`)
            if (typeof c.user === 'string') c.user = c.user.replace('@', `+c${tag}@`)
            if (typeof c.serialNumber === 'string') c.serialNumber = `${c.serialNumber}-c${tag}`
            for (const f of TIME_FIELDS) if (typeof c[f] === 'number') c[f] = (c[f] as number) + k * SHIFT_MS
            return JSON.stringify(c)
          })
          await fs.writeFile(path.join(target, name.replace(/\.json$/, `-c${tag}.json`)), lines.join('\n') + '\n')
        }
      }
    }
  })
}

/** The landing files of `source` joined into one file per dataset, in name order: the same records. */
export async function joinLanding (source: string, out: string, name: string): Promise<void> {
  await once(out, name, async () => {
    for (const dataset of DATASET_NAMES) {
      const dir = path.join(source, DATASETS[dataset].landingDir)
      const target = path.join(out, DATASETS[dataset].landingDir)
      await fs.mkdir(target, { recursive: true })
      const joined = await fs.open(path.join(target, `${dataset}-${name}.json`), 'w')
      try {
        for (const file of await landingNames(dir)) {
          const content = await fs.readFile(path.join(dir, file))
          await joined.write(content)
          if (content.length > 0 && content[content.length - 1] !== 0x0a) await joined.write('\n')
        }
      } finally {
        await joined.close()
      }
    }
  })
}

const landingNames = async (dir: string): Promise<string[]> => (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort()

/** Builds `out` unless a finished build is there (a marker written last). */
async function once (out: string, name: string, build: () => Promise<void>): Promise<void> {
  const marker = path.join(out, `.complete-${name}`)
  if (await fs.access(marker).then(() => true, () => false)) return
  await fs.rm(out, { recursive: true, force: true })
  await build()
  await fs.writeFile(marker, '')
}

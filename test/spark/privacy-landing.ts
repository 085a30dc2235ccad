// A landing and a redelivery for the erasure tests: generated customers, one of whom (the victim)
// was erased. The first landing holds everybody else (as an erasure leaves it); the redelivery is a
// new file per dataset holding the victim's original lines again, malformed lines naming the victim,
// a malformed line naming nobody, and the victim's records dated after the erasure (kept).
import fs from 'node:fs/promises'
import path from 'node:path'
import { generateLanding } from '../../simulator/generate.js'
import { DATASETS, type DatasetName } from '../../contracts/datasets.js'
import { identityHash, keyFingerprint, type Tombstone } from '../../contracts/privacy.js'
import { StateStore } from '../../pipeline/state.js'
import { customer, writeLanding } from '../helpers/index.js'

export const PRIVACY_KEY = 'the-test-privacy-key-0123456789'

export interface ErasureLanding {
  email: string
  serial: string
  erasedAt: number
  /** the victim's valid lines in the redelivery, dated up to the erasure: all must go */
  dropped: Record<DatasetName, number>
  /** malformed lines of the redelivery naming the victim: all must go */
  droppedQuarantined: Record<DatasetName, number>
  /** records dated after the erasure, per dataset: kept */
  after: Record<DatasetName, number>
  /** of those, the ones naming the victim's email or old serial number */
  afterNamingVictim: Record<DatasetName, number>
}

async function lines (landing: string, dataset: DatasetName): Promise<string[]> {
  const dir = path.join(landing, DATASETS[dataset].landingDir)
  const out: string[] = []
  for (const name of (await fs.readdir(dir)).sort()) out.push(...(await fs.readFile(path.join(dir, name), 'utf8')).split('\n').filter((l) => l !== ''))
  return out
}

/** The first landing, without the victim; returns what the redelivery will need. */
export async function erasedLanding (landing: string): Promise<{ victim: Record<DatasetName, string[]>, email: string, serial: string, lastDate: number }> {
  const source = path.join(landing, '..', 'generated')
  await generateLanding(source, { customers: 12, seed: 5, duplicateRatio: 0.05 })
  const customers = (await lines(source, 'customer')).map((l) => JSON.parse(l) as Record<string, unknown>)
  const chosen = customers.find((c) => typeof c.shareWithResearchAsOfDate === 'number')!
  const email = chosen.email as string
  const serial = chosen.serialNumber as string
  const victim = {} as Record<DatasetName, string[]>
  let lastDate = 0
  for (const dataset of Object.keys(DATASETS) as DatasetName[]) {
    const all = await lines(source, dataset)
    victim[dataset] = all.filter((l) => l.includes(email) || l.includes(serial))
    for (const l of all) {
      const r = JSON.parse(l) as Record<string, unknown>
      for (const f of ['lastUpdateDate', 'timestamp', 'sensorReadingTime', 'registrationDate']) if (typeof r[f] === 'number') lastDate = Math.max(lastDate, r[f] as number)
    }
    await writeLanding(landing, dataset, `${dataset}-1655560000000.json`, all.filter((l) => !victim[dataset].includes(l)))
  }
  return { victim, email, serial, lastDate }
}

/** The tombstones of the victim's email and serial number, added as `stedi privacy erase` does. */
export async function addVictimTombstones (lakehouse: string, email: string, serial: string, erasedAt: number): Promise<void> {
  const key = Buffer.from(PRIVACY_KEY, 'utf8')
  const tombstones: Tombstone[] = [
    { kind: 'email', hash: identityHash(key, 'email', email), erasedAt },
    { kind: 'serial', hash: identityHash(key, 'serial', serial), erasedAt }
  ]
  const state = await StateStore.open(lakehouse, { create: true })
  try {
    const runId = await state.beginRun({ erase: true }, 0)
    await state.addTombstones(tombstones, keyFingerprint(key))
    await state.commitRun(runId, { status: 'erasure', fullRefresh: false, files: [], versions: [], report: {} })
  } finally {
    await state.close()
  }
}

/** Writes the redelivery into landing; returns what must go and what must stay. */
export async function redeliver (landing: string, first: Awaited<ReturnType<typeof erasedLanding>>): Promise<ErasureLanding> {
  const { victim, email, serial, lastDate } = first
  const erasedAt = lastDate + 60_000
  const later = erasedAt + 60_000
  await writeLanding(landing, 'customer', 'customer-1655700000000.json', [
    ...victim.customer,
    `{"email":"${email}","lastUpdateDate":"yesterday"}`,
    `{"customerName":"typo","email":"${email.replace('@', '\\u0040')}",`,
    '{"email":"somebody.else@test.com","serialNumber":7}',
    // the victim registers again after the erasure, with a new trainer: kept
    customer(email, 'new-trainer-after-erasure', { registrationDate: later, lastUpdateDate: later, shareWithResearchAsOfDate: later })
  ])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1655700000000.json', [
    ...victim.accelerometer,
    `{"user":"${email}","timestamp":1.5,"x":1,"y":1,"z":1}`,
    { user: email, timestamp: later + 1000, x: 1, y: 2, z: 3 },
    { user: email, timestamp: later + 2000, x: 1, y: 2, z: 3 }
  ])
  await writeLanding(landing, 'step_trainer', 'step_trainer-1655700000000.json', [
    ...victim.step_trainer,
    `{"sensorReadingTime":${lastDate},"serialNumber":"${serial}","distanceFromObject":"far"}`,
    // the victim's old trainer, resold and read after the erasure: kept
    { sensorReadingTime: later + 1000, serialNumber: serial, distanceFromObject: 42 },
    { sensorReadingTime: later + 2000, serialNumber: 'new-trainer-after-erasure', distanceFromObject: 43 }
  ])
  return {
    email,
    serial,
    erasedAt,
    dropped: { customer: victim.customer.length, accelerometer: victim.accelerometer.length, step_trainer: victim.step_trainer.length },
    droppedQuarantined: { customer: 2, accelerometer: 1, step_trainer: 1 },
    after: { customer: 1, accelerometer: 2, step_trainer: 2 },
    afterNamingVictim: { customer: 1, accelerometer: 2, step_trainer: 1 }
  }
}

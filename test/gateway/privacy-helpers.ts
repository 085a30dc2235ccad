// Shared by the privacy tests: two customers, their tombstones, and a raw byte scan of a folder.
import fs from 'node:fs/promises'
import path from 'node:path'
import { identityHash, keyFingerprint, type Tombstone } from '../../contracts/privacy.js'

export const KEY = Buffer.from('privacy-key-for-tests-0123456789abcdef', 'utf8')
export const FINGERPRINT = keyFingerprint(KEY)
export const A = { email: 'ann.erased@example.com', serial: 'SERIAL-AAAA-0001-ERASE' }
export const B = { email: 'bob.kept@example.com', serial: 'SERIAL-BBBB-0002-KEEP' }

export const tombstonesOf = (who: { email: string, serial: string }, erasedAt: number, key: Uint8Array = KEY): Tombstone[] => [
  { kind: 'email', hash: identityHash(key, 'email', who.email), erasedAt },
  { kind: 'serial', hash: identityHash(key, 'serial', who.serial), erasedAt }
]

/** Every file under dir (recursively) whose bytes hold one of the needles (as UTF-8), with the needle. */
export async function scanFolder (dir: string, needles: string[]): Promise<string[]> {
  const found: string[] = []
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)
    const bytes = await fs.readFile(file)
    for (const n of needles) if (bytes.includes(Buffer.from(n, 'utf8'))) found.push(`${path.relative(dir, file)}: ${n}`)
  }
  return found
}

export const customer = (who: { email: string, serial: string }, lastUpdateDate: number): Record<string, unknown> => ({
  customerName: 'Test Customer', email: who.email, phone: '555-0100', birthDay: '1990-01-01', serialNumber: who.serial,
  registrationDate: lastUpdateDate - 1000, lastUpdateDate, shareWithResearchAsOfDate: lastUpdateDate
})

export const accel = (ts: number, n: number): Array<Record<string, number>> => Array.from({ length: n }, (_, i) => ({ timestamp: ts + i, x: 1, y: 2, z: 3 }))
export const steps = (ts: number, n: number): Array<Record<string, number>> => Array.from({ length: n }, (_, i) => ({ sensorReadingTime: ts + i, distanceFromObject: 10 + i }))

export async function waitFor (what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

// The privacy key: the secret behind tombstones' keyed hashes, kept with the platform's secrets
// (never in a lakehouse or landing folder). From STEDI_PRIVACY_KEY, else the file named by
// STEDI_PRIVACY_KEY_FILE, else var/privacy-key under the working folder (as var/gateway-secret).
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

export const DEFAULT_PRIVACY_KEY_FILE = 'var/privacy-key'
const MIN_KEY_CHARS = 16

export class PrivacyKeyError extends Error {
  readonly code = 'PRIVACY_ERR_KEY'
  constructor (message: string) {
    super(message)
    this.name = 'PrivacyKeyError'
  }
}

export interface PrivacyKeySource { env?: NodeJS.ProcessEnv, cwd?: string }

export function privacyKeyFile (source: PrivacyKeySource = {}): string {
  const env = source.env ?? process.env
  return path.resolve(source.cwd ?? process.cwd(), env.STEDI_PRIVACY_KEY_FILE ?? DEFAULT_PRIVACY_KEY_FILE)
}

/** The key, or undefined when none is set (a platform that never erased anyone needs none). */
export async function loadPrivacyKey (source: PrivacyKeySource = {}): Promise<Buffer | undefined> {
  const env = source.env ?? process.env
  const text = env.STEDI_PRIVACY_KEY !== undefined && env.STEDI_PRIVACY_KEY !== ''
    ? env.STEDI_PRIVACY_KEY
    : await fs.readFile(privacyKeyFile(source), 'utf8').then((s) => s.trim(), (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw new PrivacyKeyError(`cannot read the privacy key ${privacyKeyFile(source)}: ${err.code ?? err.message}`)
    })
  if (text === undefined) return undefined
  if (text.length < MIN_KEY_CHARS) throw new PrivacyKeyError(`the privacy key must be at least ${MIN_KEY_CHARS} characters`)
  return Buffer.from(text, 'utf8')
}

/** The key, made (and kept in the key file, mode 600) when there is none yet; `made` says so. */
export async function ensurePrivacyKey (source: PrivacyKeySource = {}): Promise<{ key: Buffer, made?: string }> {
  const existing = await loadPrivacyKey(source)
  if (existing !== undefined) return { key: existing }
  const file = privacyKeyFile(source)
  const text = randomBytes(32).toString('hex')
  await fs.mkdir(path.dirname(file), { recursive: true })
  await fs.writeFile(file, text + '\n', { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err
  })
  return { key: (await loadPrivacyKey(source))!, made: file }
}

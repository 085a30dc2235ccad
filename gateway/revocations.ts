// The revocation list: for each device, the lowest credential generation still valid. One file that
// several gateways can share (a network folder, a config-management push): JSON lines,
//   {"kind":"step-trainer","id":"sn-1","minGeneration":2,"revokedAt":"2026-11-27T22:00:00.000Z"}
// one line per device (the highest minGeneration wins if a device appears twice). Writers replace
// the file atomically (temporary file, then rename), so a reader never sees half of it. Gateways
// reload it without a restart: a watch on its folder, and a stat every pollMs in case the watch
// misses a change (network file systems). A missing file revokes nothing.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { isValidIdentity } from '../contracts/topics.js'
import type { Logger } from '../common/logger.js'
import { CREDENTIAL_KINDS, type CredentialKind, type DeviceIdentity, isGeneration } from './credentials.js'

export interface RevocationEntry { kind: CredentialKind, id: string, minGeneration: number, revokedAt: string }

const key = (kind: string, id: string): string => `${kind}\u0000${id}`

/** Reads a list's text: the entries by device, and how many lines were not entries. */
export function parseRevocations (text: string): { entries: Map<string, RevocationEntry>, badLines: number } {
  const entries = new Map<string, RevocationEntry>()
  let badLines = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    let e: Partial<RevocationEntry>
    try { e = JSON.parse(line) as Partial<RevocationEntry> } catch { badLines++; continue }
    if (typeof e?.id !== 'string' || !isValidIdentity(e.id) || !(CREDENTIAL_KINDS as readonly unknown[]).includes(e.kind) ||
      typeof e.minGeneration !== 'number' || !isGeneration(e.minGeneration)) { badLines++; continue }
    const k = key(e.kind!, e.id)
    const had = entries.get(k)
    if (had === undefined || had.minGeneration < e.minGeneration) entries.set(k, { kind: e.kind!, id: e.id, minGeneration: e.minGeneration, revokedAt: String(e.revokedAt ?? '') })
  }
  return { entries, badLines }
}

/**
 * Revokes a device's credentials below `minGeneration` (default: one more than the list says now,
 * i.e. the generation in use is revoked and the next one is valid). Returns the entry written.
 * Concurrent writers of one file may lose an update: revoke from one place at a time.
 */
export async function revokeDevice (file: string, kind: CredentialKind, id: string, minGeneration?: number, now = new Date()): Promise<RevocationEntry> {
  const text = await fsp.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return ''; throw err })
  const { entries } = parseRevocations(text)
  const current = entries.get(key(kind, id))?.minGeneration ?? 0
  const entry: RevocationEntry = { kind, id, minGeneration: Math.max(current, minGeneration ?? current + 1), revokedAt: now.toISOString() }
  entries.set(key(kind, id), entry)
  await fsp.mkdir(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
  await fsp.writeFile(tmp, [...entries.values()].map((e) => JSON.stringify(e) + '\n').join(''))
  await fsp.rename(tmp, file)
  return entry
}

export interface RevocationList {
  /** false when the device's generation is below the lowest valid one */
  valid: (device: DeviceIdentity) => boolean
  /** reads the file again now (also done on its own when the file changes) */
  reload: () => Promise<void>
  stop: () => void
}

/** An empty list, for a gateway without one. */
export const NO_REVOCATIONS: RevocationList = { valid: () => true, reload: async () => {}, stop: () => {} }

/** Loads the list, then follows the file; `onChange` runs after each reload that changed it. */
export async function watchRevocations (file: string, options: { logger: Logger, pollMs: number, onChange: () => void }): Promise<RevocationList> {
  const logger = options.logger.child({ component: 'revocations' })
  let entries = new Map<string, RevocationEntry>()
  let signature = ''
  let loading: Promise<void> | undefined
  let again = false
  let stopped = false
  const load = async (): Promise<void> => {
    const stat = await fsp.stat(file).catch(() => undefined)
    const sig = stat === undefined ? 'none' : `${stat.ino}:${stat.size}:${stat.mtimeMs}`
    if (sig === signature) return
    const text = stat === undefined ? '' : await fsp.readFile(file, 'utf8').catch(() => undefined)
    if (text === undefined) return // replaced between stat and read: the next look sees it
    signature = sig
    const parsed = parseRevocations(text)
    if (parsed.badLines > 0) logger.warn({ file, badLines: parsed.badLines }, 'revocation list: lines that are not entries were skipped')
    entries = parsed.entries
    logger.info({ file, devices: entries.size }, 'revocation list loaded')
    options.onChange()
  }
  const reload = async (): Promise<void> => {
    if (loading !== undefined) { again = true; return await loading }
    loading = (async () => {
      do { again = false; await load().catch((err: unknown) => logger.error({ file, err: (err as Error).message }, 'revocation list unreadable: the previous one stays')) } while (again && !stopped)
    })().finally(() => { loading = undefined })
    await loading
  }
  await reload()
  // the file is replaced by a rename: watch its folder, not the file
  let watcher: fs.FSWatcher | undefined
  try {
    watcher = fs.watch(path.dirname(file), { persistent: false }, (_event, name) => { if (name === null || name === path.basename(file)) void reload() })
    watcher.on('error', () => { watcher?.close(); watcher = undefined })
  } catch { /* the folder does not exist yet: the poll finds the file */ }
  const timer = setInterval(() => { void reload() }, options.pollMs)
  timer.unref()
  return {
    valid: (d) => d.generation >= (entries.get(key(d.kind, d.identity))?.minGeneration ?? 0),
    reload,
    stop: () => { stopped = true; clearInterval(timer); watcher?.close() }
  }
}

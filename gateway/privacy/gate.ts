// The running gateway's privacy state: its key (from the config), the tombstones in force, and
// the matcher that ingest consults for every message. Opened at start, after the state lock:
// a state that holds tombstones refuses a missing or different key (key-check.ts).
import { type Tombstone, TombstoneMatcher, keyFingerprint } from '../../contracts/privacy.js'
import { checkPrivacyKey } from './key-check.js'
import { type PrivacyStore, openPrivacyStore } from './store.js'

export interface PrivacyGate {
  /** the configured key's fingerprint, undefined when the gateway runs without a key */
  readonly fingerprint: string | undefined
  readonly key: Uint8Array | undefined
  readonly store: PrivacyStore
  /** the tombstones in force now */
  matcher: () => TombstoneMatcher
  /** adds tombstones durably, then puts them in force; returns how many were new */
  add: (tombstones: readonly Tombstone[]) => Promise<{ added: number, total: number }>
  close: () => Promise<void>
}

export async function openPrivacyGate (stateDir: string, key: Uint8Array | undefined): Promise<PrivacyGate> {
  const store = await openPrivacyStore(stateDir)
  try {
    await checkPrivacyKey(store, stateDir, key)
  } catch (err) {
    await store.close().catch(() => undefined)
    throw err
  }
  const fingerprint = key === undefined ? undefined : keyFingerprint(key)
  // without a key there are no tombstones (checked above): nothing is ever covered
  let matcher = new TombstoneMatcher(key ?? new Uint8Array(0), await store.tombstones())
  return {
    fingerprint,
    key,
    store,
    matcher: () => matcher,
    add: async (tombstones) => {
      if (key === undefined || fingerprint === undefined) throw new Error('no privacy key')
      const added = await store.add(tombstones, fingerprint)
      const all = await store.tombstones()
      matcher = new TombstoneMatcher(key, all)
      return { added, total: all.length }
    },
    close: async () => { await store.close() }
  }
}

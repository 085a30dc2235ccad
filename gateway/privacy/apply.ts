// One erasure on an open outbox, stopped or running alike: tombstones in force first (ingest drops
// covered readings from then on), then the outbox and ledger scrubbed with both writers held, then
// every SQLite file of the state compacted. Serialized by the caller.
import type { Tombstone } from '../../contracts/privacy.js'
import type { Outbox } from '../outbox/outbox.js'
import { compactDatabase } from './compact.js'
import type { PrivacyGate } from './gate.js'
import type { ErasureReceipt } from './receipt.js'
import { scrubState } from './scrub.js'

export interface ApplyHooks {
  /** called between steps (tests pause or kill here) */
  onStep?: (step: 'tombstones' | 'scrubbed' | 'compacted') => Promise<void> | void
}

export async function applyErasure (gate: PrivacyGate, outbox: Outbox, tombstones: readonly Tombstone[], hooks: ApplyHooks = {}): Promise<ErasureReceipt> {
  const started = performance.now()
  const counts = await gate.add(tombstones)
  await hooks.onStep?.('tombstones')
  const { places, files } = await outbox.lockedState(async (dbs) => {
    const result = await scrubState(dbs, gate.matcher())
    for (const [dataset, u] of result.unclaimed) outbox.discount(dataset, u.records, u.bytes)
    await hooks.onStep?.('scrubbed')
    const files = [await compactDatabase(dbs.outbox), await compactDatabase(dbs.ledger), await compactDatabase(gate.store.db)]
    return { places: result.places, files }
  })
  await hooks.onStep?.('compacted')
  return { keyFingerprint: gate.fingerprint!, tombstones: counts, places, files, durationMs: Math.round(performance.now() - started) }
}

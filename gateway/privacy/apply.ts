// One erasure on an open outbox, stopped or running alike: tombstones in force first (ingest drops
// covered readings from then on); what could hold a covered record is committed and indexed, and
// looked for without a lock; the outbox and ledger are scrubbed in short transactions that take
// turns with the gateway's own; then every SQLite file of the state is compacted, each file held
// alone while it is. Serialized by the caller.
import type { Tombstone } from '../../contracts/privacy.js'
import type { Outbox } from '../outbox/outbox.js'
import { compactDatabase } from './compact.js'
import type { PrivacyGate } from './gate.js'
import type { ErasureReceipt } from './receipt.js'
import { findCandidates, scrubState } from './scrub.js'

export interface ApplyHooks {
  /** called between steps (tests pause or kill here) */
  onStep?: (step: 'tombstones' | 'scrubbed' | 'compacted') => Promise<void> | void
}

export async function applyErasure (gate: PrivacyGate, outbox: Outbox, tombstones: readonly Tombstone[], hooks: ApplyHooks = {}): Promise<ErasureReceipt> {
  const started = performance.now()
  const counts = await gate.add(tombstones)
  await hooks.onStep?.('tombstones')
  // everything that could hold a covered record is committed now; it is looked for without a lock,
  // so that the ack path waits only for the rewrites and the compaction
  await outbox.settleQueued()
  const candidates = await outbox.read(async (db) => await findCandidates(db, gate.matcher()))
  const result = await scrubState(outbox.writers, gate.matcher(), candidates)
  for (const [dataset, u] of result.unclaimed) outbox.discount(dataset, u.records, u.bytes)
  await hooks.onStep?.('scrubbed')
  // compaction has to have each file to itself: commits and acknowledgements wait for this part
  let lockedMs = 0
  const files = await outbox.lockedState(async (dbs) => {
    const locked = performance.now()
    outbox.forgetRecent()
    const files = [await compactDatabase(dbs.outbox), await compactDatabase(dbs.ledger), await compactDatabase(gate.store.db)]
    lockedMs = Math.round(performance.now() - locked)
    return files
  })
  const places = result.places
  await hooks.onStep?.('compacted')
  return { keyFingerprint: gate.fingerprint!, tombstones: counts, places, files, durationMs: Math.round(performance.now() - started), lockedMs }
}

// Several gateways share one landing zone behind a load balancer; each keeps the ledger of what it
// took. A device asking one of them what became of its message may be asking the wrong one, so a
// gateway with peers (--peer URL) asks each of them too (with the device's own credential, marked
// local so that they do not ask further) and merges the answers: through the balancer, any gateway
// answers for the site. A peer that does not answer in time is named, not waited for.

export interface LedgerAnswer {
  batch?: { deliveries: number, accepted: number, seqConflicts?: number } | null
  readings: Array<Record<string, unknown>>
  rejected: Array<Record<string, unknown>>
  notItemized?: Record<string, number>
  truncated?: boolean
  [key: string]: unknown
}

const PEER_TIMEOUT_MS = 2_000

export async function askPeers (peers: readonly string[], pathAndQuery: string, authorization: string | undefined): Promise<Array<{ peer: string, answer?: LedgerAnswer, error?: string }>> {
  return await Promise.all(peers.map(async (peer) => {
    try {
      const res = await fetch(`${peer.replace(/\/+$/, '')}${pathAndQuery}${pathAndQuery.includes('?') ? '&' : '?'}local=true`, {
        headers: authorization === undefined ? {} : { authorization }, signal: AbortSignal.timeout(PEER_TIMEOUT_MS)
      })
      if (!res.ok) return { peer, error: `HTTP ${res.status}` }
      return { peer, answer: await res.json() as LedgerAnswer }
    } catch (err) {
      return { peer, error: (err as Error).message }
    }
  }))
}

/** One answer from this gateway's and its peers' (each reading and refusal says which gateway took it). */
export function mergeAnswers (own: LedgerAnswer, ownId: string, peers: Array<{ peer: string, answer?: LedgerAnswer, error?: string }>): LedgerAnswer {
  const tag = (id: string) => (x: Record<string, unknown>) => ({ ...x, gateway: x.gateway ?? id })
  const answers: Array<[string, LedgerAnswer]> = [[ownId, own], ...peers.flatMap((p) => p.answer === undefined ? [] : [[p.peer, p.answer] as [string, LedgerAnswer]])]
  const merged: LedgerAnswer = { ...own, readings: [], rejected: [] }
  let batch: LedgerAnswer['batch'] = null
  const notItemized: Record<string, number> = {}
  for (const [id, a] of answers) {
    merged.readings.push(...a.readings.map(tag(id)))
    merged.rejected.push(...a.rejected.map(tag(id)))
    for (const [reason, n] of Object.entries(a.notItemized ?? {})) notItemized[reason] = (notItemized[reason] ?? 0) + n
    if (a.truncated === true) merged.truncated = true
    if (a.batch != null) {
      batch = batch === null
        ? { ...a.batch }
        // the same message taken by two gateways (a device that reconnected elsewhere) is one more delivery
        : { deliveries: batch!.deliveries + a.batch.deliveries, accepted: Math.max(batch!.accepted, a.batch.accepted), ...(batch!.seqConflicts !== undefined || a.batch.seqConflicts !== undefined ? { seqConflicts: (batch!.seqConflicts ?? 0) + (a.batch.seqConflicts ?? 0) } : {}) }
    }
  }
  if ('batch' in own) merged.batch = batch
  if (Object.keys(notItemized).length > 0) merged.notItemized = notItemized
  const unanswered = peers.filter((p) => p.answer === undefined).map((p) => ({ peer: p.peer, error: p.error }))
  if (unanswered.length > 0) merged.unansweredPeers = unanswered
  return merged
}

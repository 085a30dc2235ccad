// A landing file without the lines a tombstone covers. Every other byte stays as it was (line
// endings, a BOM, blank lines, invalid UTF-8): the rewrite is a function of the content and the
// tombstones alone, so doing it twice gives the same bytes, hence the same identity. That is what
// lets an erasure killed half-way be finished by whoever comes next.
import type { DatasetName } from '../../contracts/datasets.js'
import type { TombstoneMatcher } from '../../contracts/privacy.js'

export interface LandingRewrite {
  content: Buffer
  /** lines removed, and of those, lines that parsed as a JSON object (records) */
  lines: number
  records: number
}

const NEWLINE = 0x0a

export function rewriteLandingContent (dataset: DatasetName, content: Buffer, matcher: TombstoneMatcher): LandingRewrite | undefined {
  if (matcher.size === 0) return undefined
  const kept: Buffer[] = []
  let lines = 0
  let records = 0
  let start = 0
  while (start < content.length) {
    const nl = content.indexOf(NEWLINE, start)
    const end = nl === -1 ? content.length : nl + 1
    const segment = content.subarray(start, end)
    const verdict = coveredLine(dataset, segment, start === 0, matcher)
    if (verdict === undefined) kept.push(segment)
    else if (start === 0 && segment[0] === 0xef && segment[1] === 0xbb && segment[2] === 0xbf) {
      // the byte order mark belongs to the file, not to its first line
      kept.push(segment.subarray(0, 3))
      lines++
      if (verdict === 'record') records++
    } else {
      lines++
      if (verdict === 'record') records++
    }
    start = end
  }
  return lines === 0 ? undefined : { content: Buffer.concat(kept), lines, records }
}

function coveredLine (dataset: DatasetName, segment: Buffer, first: boolean, matcher: TombstoneMatcher): 'record' | 'raw' | undefined {
  let text = segment.toString('utf8')
  if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  text = text.replace(/\r?\n$/, '')
  if (text.trim() === '') return undefined
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { parsed = undefined }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    if (matcher.coversRecord(dataset, parsed as Record<string, unknown>)) return 'record'
    // a record of the dataset is judged by its own fields; its other strings (a name) are not identities
    if (hasDatasetIdentity(dataset, parsed as Record<string, unknown>)) return undefined
  }
  return matcher.coversRaw(text) ? 'raw' : undefined
}

function hasDatasetIdentity (dataset: DatasetName, record: Record<string, unknown>): boolean {
  const field = dataset === 'customer' ? 'email' : dataset === 'accelerometer' ? 'user' : 'serialNumber'
  return typeof record[field] === 'string'
}

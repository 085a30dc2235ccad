// Reads each new landing file once before the engine does: its content hash (part of the file's
// identity, so a rewritten file is read again), whether the engine's fast JSON reader may take it
// (valid UTF-8, no byte-order mark) and how many non-blank lines it has, which the fast path must
// account for exactly. A file that is not valid UTF-8 is copied with each bad line marked, so that
// only those lines are quarantined.
import { createHash } from 'node:crypto'
import { isUtf8 } from 'node:buffer'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { LandingFile } from './scan.js'
import { unreadable } from './scan.js'
import { INVALID_UTF8_MARK } from './validate-sql.js'
import { lineageColumns } from '../../contracts/lakehouse.js'

export interface ScannedFile extends LandingFile {
  sha256: string
  nonBlankLines: number
  /** what the fast reader reads (the file, or its copy with line numbers); null: not valid UTF-8, or a byte-order mark */
  fastPath: string | null
  /** what the line-by-line reader reads: the file itself, or its copy with invalid lines marked */
  readPath: string
}

const LF = 0x0a
const CR = 0x0d

export async function prescanFile (file: LandingFile, scratchDir: string): Promise<ScannedFile> {
  let content: Buffer
  try {
    content = await fs.readFile(file.absPath)
  } catch (err) {
    throw unreadable(file.absPath, err)
  }
  const sha256 = createHash('sha256').update(content).digest('hex')
  const utf8 = isUtf8(content)
  const bom = content.length >= 3 && content[0] === 0xef && content[1] === 0xbb && content[2] === 0xbf
  let readPath = file.absPath
  if (!utf8) {
    readPath = path.join(scratchDir, `${sha256}.marked.json`)
    await fs.mkdir(scratchDir, { recursive: true })
    await fs.writeFile(readPath, markInvalidLines(content))
  }
  let fastPath: string | null = utf8 && !bom ? file.absPath : null
  if (fastPath !== null && lineageColumns(file.dataset).some(([name]) => name === '_line')) {
    // a dataset that keeps line numbers reads a copy in which each object carries its own
    fastPath = path.join(scratchDir, `${sha256}.numbered.json`)
    await fs.mkdir(scratchDir, { recursive: true })
    await fs.writeFile(fastPath, numberLines(content))
  }
  return { ...file, sha256, nonBlankLines: countNonBlankLines(content), fastPath, readPath }
}

/**
 * Writes `"_line":N` as the first member of every line that starts with '{'. A line that does not is
 * left alone (the fast reader then refuses the file, and the line path reads the original), and so
 * is an object that already has a _line member (the fast reader refuses the duplicate key).
 */
export function numberLines (content: Buffer): Buffer {
  const out: Buffer[] = []
  let start = 0
  for (let line = 1; start <= content.length; line++) {
    let end = content.indexOf(LF, start)
    if (end === -1) end = content.length
    let i = start
    while (i < end && (content[i] === 0x20 || content[i] === 0x09)) i++
    if (i < end && content[i] === 0x7b) {
      let j = i + 1
      while (j < end && (content[j] === 0x20 || content[j] === 0x09 || content[j] === CR)) j++
      const empty = j < end && content[j] === 0x7d
      out.push(content.subarray(start, i + 1), Buffer.from(`"_line":${line}${empty ? '' : ','}`), content.subarray(i + 1, end))
    } else {
      out.push(content.subarray(start, end))
    }
    if (end === content.length) break
    out.push(Buffer.from([LF]))
    start = end + 1
  }
  return Buffer.concat(out)
}

export function countNonBlankLines (content: Buffer): number {
  let count = 0
  let start = 0
  while (start < content.length) {
    let end = content.indexOf(LF, start)
    if (end === -1) end = content.length
    for (let i = start; i < end; i++) {
      const byte = content[i]
      if (byte !== 0x20 && byte !== 0x09 && byte !== CR) { count++; break }
    }
    start = end + 1
  }
  return count
}

function markInvalidLines (content: Buffer): Buffer {
  const out: Buffer[] = []
  let start = 0
  while (start <= content.length) {
    let end = content.indexOf(LF, start)
    if (end === -1) end = content.length
    const line = content.subarray(start, end)
    // latin1 keeps every byte of the bad line visible (one character each) for the quarantine
    out.push(isUtf8(line) ? line : Buffer.from(INVALID_UTF8_MARK + line.toString('latin1'), 'utf8'))
    if (end === content.length) break
    out.push(Buffer.from([LF]))
    start = end + 1
  }
  return Buffer.concat(out)
}

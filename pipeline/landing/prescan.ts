// Reads each new landing file once before the engine does: its content hash (part of the file's
// identity, so a rewritten file is read again), whether the engine's fast JSON reader may take it
// (valid UTF-8, no byte-order mark) and how many non-blank lines it has, which the fast path must
// account for exactly. A file that is not valid UTF-8 is copied with each bad line marked, so that
// only those lines are quarantined.
// A file is read in chunks through one reused buffer, cut after their last line feed: a line feed
// never falls inside a UTF-8 sequence, so every check and count on whole lines adds up to the same
// result as on the whole file, and a big file costs a chunk of memory, not its size.
import { createHash } from 'node:crypto'
import { isUtf8 } from 'node:buffer'
import fs from 'node:fs'
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
const BOM = Buffer.from([0xef, 0xbb, 0xbf])

/** Bytes read at a time: a 200 MB file is 50 reads, and the buffer stays small beside the engine's memory. */
export const PRESCAN_CHUNK_BYTES = 4 * 1024 * 1024

export function prescanFile (file: LandingFile, scratchDir: string, chunkBytes = PRESCAN_CHUNK_BYTES): ScannedFile {
  const hash = createHash('sha256')
  let head = Buffer.alloc(0)
  let utf8 = true
  let nonBlankLines = 0
  let line = 1
  // a dataset that keeps line numbers reads a copy in which each object carries its own; it is
  // written as the file is read, and dropped if the file turns out not to be for the fast reader
  const numbered = lineageColumns(file.dataset).some(([name]) => name === '_line')
  let copy: { path: string, fd: number } | undefined
  try {
    readLineChunks(file.absPath, chunkBytes, (raw) => {
      hash.update(raw)
      if (head.length < BOM.length) head = Buffer.concat([head, raw.subarray(0, BOM.length - head.length)])
    }, (lines) => {
      if (utf8 && !isUtf8(lines)) utf8 = false
      const counted = countLines(lines)
      nonBlankLines += counted.nonBlank
      if (numbered && utf8 && !head.equals(BOM)) {
        if (copy === undefined) {
          fs.mkdirSync(scratchDir, { recursive: true })
          const tmp = path.join(scratchDir, `.numbering-${process.pid}-${Math.random().toString(36).slice(2)}.json`)
          copy = { path: tmp, fd: fs.openSync(tmp, 'w') }
        }
        writeAll(copy.fd, numberLines(lines, line))
      }
      line += counted.newlines
    })
  } finally {
    if (copy !== undefined) fs.closeSync(copy.fd)
  }
  const sha256 = hash.digest('hex')
  let readPath = file.absPath
  if (!utf8) {
    readPath = path.join(scratchDir, `${sha256}.marked.json`)
    fs.mkdirSync(scratchDir, { recursive: true })
    writeMarkedCopy(file.absPath, readPath, chunkBytes)
  }
  let fastPath: string | null = utf8 && !head.equals(BOM) ? file.absPath : null
  if (numbered) {
    if (fastPath !== null) {
      fastPath = path.join(scratchDir, `${sha256}.numbered.json`)
      // the copy exists: the last piece of lines (maybe empty) always comes
      fs.renameSync(copy!.path, fastPath)
    } else if (copy !== undefined) {
      fs.rmSync(copy.path, { force: true })
    }
  }
  return { ...file, sha256, nonBlankLines, fastPath, readPath }
}

/**
 * Reads a file through one buffer: `onRaw` sees every byte as read, `onLines` whole lines, each
 * piece ending with a line feed, except the last (what follows the last line feed, maybe empty).
 * Synchronous: the pool's workers do nothing else meanwhile, and a read through the thread pool
 * per chunk left them waiting a fifth of their time.
 */
function readLineChunks (absPath: string, chunkBytes: number, onRaw: (raw: Buffer) => void, onLines: (lines: Buffer) => void): void {
  let fd: number
  try {
    fd = fs.openSync(absPath, 'r')
  } catch (err) {
    throw unreadable(absPath, err)
  }
  try {
    const buffer = spare?.length === chunkBytes ? spare : Buffer.allocUnsafe(chunkBytes)
    spare = undefined
    // the end of a line cut by the chunk's end, copied out of the buffer before it is read into again
    let carry: Buffer = Buffer.alloc(0)
    for (;;) {
      let n: number
      try {
        n = fs.readSync(fd, buffer, 0, chunkBytes, null)
      } catch (err) {
        throw unreadable(absPath, err)
      }
      if (n === 0) break
      const chunk = buffer.subarray(0, n)
      onRaw(chunk)
      const first = chunk.indexOf(LF)
      if (first === -1) { carry = Buffer.concat([carry, chunk]); continue }
      const last = chunk.lastIndexOf(LF)
      onLines(carry.length === 0 ? chunk.subarray(0, first + 1) : Buffer.concat([carry, chunk.subarray(0, first + 1)]))
      if (last > first) onLines(chunk.subarray(first + 1, last + 1))
      carry = Buffer.from(chunk.subarray(last + 1))
    }
    onLines(carry)
    spare = buffer
  } finally {
    fs.closeSync(fd)
  }
}

// the last chunk buffer, kept for the next file: a new one per file is fresh memory, and its first
// touch (page faults) cost as much as the reading of a landing file of a few hundred kilobytes
let spare: Buffer | undefined

function writeAll (fd: number, data: Buffer): void {
  for (let at = 0; at < data.length;) at += fs.writeSync(fd, data, at)
}

/** The file with every line that is not valid UTF-8 marked (read again in chunks: rare, and may be big). */
function writeMarkedCopy (absPath: string, target: string, chunkBytes: number): void {
  const out = fs.openSync(target, 'w')
  try {
    readLineChunks(absPath, chunkBytes, () => {}, (lines) => { writeAll(out, markInvalidLines(lines)) })
  } finally {
    fs.closeSync(out)
  }
}

/**
 * Writes `"_line":N` as the first member of every line that starts with '{', N counting from
 * `firstLine`. A line that does not is left alone (the fast reader then refuses the file, and the
 * line path reads the original), and so is an object that already has a _line member (the fast
 * reader refuses the duplicate key).
 */
export function numberLines (content: Buffer, firstLine = 1): Buffer {
  // written into one buffer: a Buffer per piece of every line cost more in garbage collection than the work
  let lines = 1
  for (let at = content.indexOf(LF); at !== -1; at = content.indexOf(LF, at + 1)) lines++
  const out = Buffer.allocUnsafe(content.length + lines * ('"_line":,'.length + String(firstLine + lines).length))
  let o = 0
  let start = 0
  for (let line = firstLine; ; line++) {
    let end = content.indexOf(LF, start)
    if (end === -1) end = content.length
    let i = start
    while (i < end && (content[i] === 0x20 || content[i] === 0x09)) i++
    if (i < end && content[i] === 0x7b) {
      let j = i + 1
      while (j < end && (content[j] === 0x20 || content[j] === 0x09 || content[j] === CR)) j++
      const empty = j < end && content[j] === 0x7d
      o += content.copy(out, o, start, i + 1)
      o += out.write(`"_line":${line}${empty ? '' : ','}`, o, 'latin1')
      o += content.copy(out, o, i + 1, end)
    } else {
      o += content.copy(out, o, start, end)
    }
    if (end === content.length) break
    out[o++] = LF
    start = end + 1
  }
  return out.subarray(0, o)
}

export function countNonBlankLines (content: Buffer): number {
  return countLines(content).nonBlank
}

/** Line feeds, and lines with anything but spaces, tabs and carriage returns. */
function countLines (content: Buffer): { newlines: number, nonBlank: number } {
  let newlines = 0
  let nonBlank = 0
  let start = 0
  while (start < content.length) {
    let end = content.indexOf(LF, start)
    if (end === -1) end = content.length
    else newlines++
    for (let i = start; i < end; i++) {
      const byte = content[i]
      if (byte !== 0x20 && byte !== 0x09 && byte !== CR) { nonBlank++; break }
    }
    start = end + 1
  }
  return { newlines, nonBlank }
}

export function markInvalidLines (content: Buffer): Buffer {
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

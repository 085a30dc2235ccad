// Small helpers for files that must survive a power cut: data is fsync'd before it is named, and
// the folder is fsync'd after a name changes, so a crash leaves either the old state or the new one.
import fs from 'node:fs/promises'
import path from 'node:path'

export async function fsyncFile (file: string): Promise<void> {
  const handle = await fs.open(file, 'r')
  try { await handle.sync() } finally { await handle.close() }
}

export async function fsyncDir (dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r')
  try { await handle.sync() } finally { await handle.close() }
}

/** Atomically makes `target` another name of `source` (replacing what `target` named before). */
export async function linkReplace (source: string, target: string): Promise<void> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`)
  await fs.rm(tmp, { force: true })
  await fs.link(source, tmp)
  await fs.rename(tmp, target)
}

/** Writes a file under a temporary name, fsyncs it, renames it into place and fsyncs the folder. */
export async function writeFileAtomic (file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file)
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`)
  const handle = await fs.open(tmp, 'w')
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, file)
  await fsyncDir(dir)
}

// Prescans many files at once: hashing is CPU work and the engine is idle meanwhile, so the files
// are shared among worker threads (one per engine thread), the largest first, so that a big file
// does not start last and keep one thread busy while the others wait. A few files are done in
// place: a worker's start costs more than they do.
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { type ScannedFile, prescanFile } from './prescan.js'
import { type LandingFile, unreadable } from './scan.js'

const IN_PLACE_BELOW_BYTES = 16 * 1024 * 1024

// from source (tests, tsx) the worker is the .ts file beside this one, and needs tsx; once built, the .js
const FROM_SOURCE = import.meta.url.endsWith('.ts')
const WORKER_URL = new URL(`./prescan-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url)

function startWorker (): Worker {
  if (!FROM_SOURCE) return new Worker(fileURLToPath(WORKER_URL))
  // loader hooks do not follow a worker on Node 20: register tsx inside it first
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}) })`, { eval: true })
}

export async function prescanFiles (
  files: readonly LandingFile[], scratchDir: string, threads: number, onProgress?: (done: number) => void, inPlaceBelowBytes = IN_PLACE_BELOW_BYTES
): Promise<ScannedFile[]> {
  const total = files.reduce((a, f) => a + f.size, 0)
  if (threads <= 1 || total < inPlaceBelowBytes) {
    const out: ScannedFile[] = []
    for (const f of files) {
      out.push(prescanFile(f, scratchDir))
      onProgress?.(out.length)
      // the prescan is synchronous: let the event loop (a gateway in the same process) turn between files
      await new Promise((resolve) => setImmediate(resolve))
    }
    return out
  }
  const results = new Array<ScannedFile>(files.length)
  const workers = Array.from({ length: Math.min(threads, files.length) }, startWorker)
  const order = files.map((_, i) => i).sort((a, b) => files[b].size - files[a].size)
  let next = 0
  let done = 0
  try {
    await Promise.all(workers.map(async (worker) => await new Promise<void>((resolve, reject) => {
      const send = (): void => {
        if (next >= files.length) { resolve(); return }
        const id = order[next++]
        worker.postMessage({ id, file: files[id], scratchDir })
      }
      worker.on('message', (msg: { id: number, result?: ScannedFile, error?: { path: string, code: string } }) => {
        if (msg.error !== undefined) { reject(unreadable(msg.error.path, { code: msg.error.code })); return }
        results[msg.id] = msg.result!
        onProgress?.(++done)
        send()
      })
      worker.on('error', reject)
      send()
    })))
  } finally {
    await Promise.all(workers.map(async (w) => await w.terminate()))
  }
  return results
}

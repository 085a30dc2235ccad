// A worker thread of the prescan pool: hashes and checks the files the pool sends it.
import { parentPort } from 'node:worker_threads'
import { prescanFile } from './prescan.js'
import type { LandingFile } from './scan.js'

parentPort!.on('message', (job: { id: number, file: LandingFile, scratchDir: string }) => {
  try {
    parentPort!.postMessage({ id: job.id, result: prescanFile(job.file, job.scratchDir) })
  } catch (e) {
    const err = e as { path?: string, cause?: { code?: string }, message: string }
    parentPort!.postMessage({ id: job.id, error: { path: err.path ?? job.file.absPath, code: err.cause?.code ?? err.message } })
  }
})

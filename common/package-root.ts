// Where the package's own files (sql/, data/) are, whether we run from source or from dist/.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

export function packageRoot (): string {
  if (cached !== undefined) return cached
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'sql'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('cannot find the package root (a folder with package.json and sql/)')
    dir = parent
  }
  cached = dir
  return dir
}

/** The version in the package's package.json (`stedi --version`, the load-test report). */
export function packageVersion (): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
}

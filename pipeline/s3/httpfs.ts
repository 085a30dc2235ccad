// DuckDB's httpfs extension, which reads and writes s3:// paths. It is not in the npm package, and
// DuckDB's own download at first use cannot be allowed (nothing but package registries is reachable,
// and an unpinned binary is not something to load). PyPI ships the official build as a wheel, for
// one DuckDB version each: the pair below is pinned together with @duckdb/node-api (package.json,
// exact), and a test fails when they drift. `stedi s3 setup` installs it; the first S3 run installs
// it too when it is missing. The wheel's SHA-256 is checked before anything in it is used.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { packageRoot } from '../../common/package-root.js'
import { PipelineError } from '../errors.js'

/** The DuckDB version the extension is built for; @duckdb/node-api must be this version exactly. */
export const HTTPFS_DUCKDB_VERSION = '1.5.5'
export const HTTPFS_WHEEL = `duckdb-extension-httpfs==${HTTPFS_DUCKDB_VERSION}`

/** DuckDB's platform name -> the wheel's platform tag and its SHA-256 (from PyPI). */
const WHEELS: Record<string, { tag: string, sha256: string }> = {
  linux_amd64: { tag: 'manylinux2014_x86_64', sha256: '84913dbe172ccb54368de2c4a020c38ca8b0e76f99df548f7fac37934cc7826f' },
  linux_arm64: { tag: 'manylinux2014_aarch64', sha256: '567d17e398fc29f7ea4bc42ea277ea19643bd1ad1815f676cb6dd994b50399bb' }
}

/** Our own extension directory: DuckDB never looks in ~/.duckdb, never downloads. */
export function extensionDirectory (): string {
  return path.join(packageRoot(), '.cache', 'duckdb-extensions')
}

export function duckdbPlatform (): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  return `${process.platform}_${arch}`
}

/** Where DuckDB's `LOAD httpfs` finds the extension under extension_directory. */
export function httpfsPath (): string {
  return path.join(extensionDirectory(), `v${HTTPFS_DUCKDB_VERSION}`, duckdbPlatform(), 'httpfs.duckdb_extension')
}

function fail (message: string): never {
  throw new PipelineError('PIPE_ERR_S3_EXTENSION', message)
}

/** Installs the pinned extension unless it is there; returns its path and whether it was installed now. */
export function ensureHttpfs (python = 'python3'): { path: string, installed: boolean } {
  const target = httpfsPath()
  if (fs.existsSync(target)) return { path: target, installed: false }
  const wheel = WHEELS[duckdbPlatform()] ?? fail(`no pinned httpfs extension for ${duckdbPlatform()} (pipeline/s3/httpfs.ts has ${Object.keys(WHEELS).join(', ')})`)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stedi-httpfs-'))
  try {
    const pip = spawnSync(python, ['-m', 'pip', 'download', '--disable-pip-version-check', '--quiet', '--no-deps', '--only-binary=:all:',
      '--platform', wheel.tag, '--dest', tmp, HTTPFS_WHEEL], { encoding: 'utf8' })
    if (pip.error !== undefined || pip.status !== 0) {
      fail(`cannot download ${HTTPFS_WHEEL} from PyPI with ${python} -m pip: ${pip.error?.message ?? pip.stderr.trim().split('\n').at(-1) ?? `exit ${String(pip.status)}`}`)
    }
    const file = fs.readdirSync(tmp).find((n) => n.endsWith('.whl')) ?? fail(`pip downloaded no wheel of ${HTTPFS_WHEEL}`)
    const sha256 = createHash('sha256').update(fs.readFileSync(path.join(tmp, file))).digest('hex')
    if (sha256 !== wheel.sha256) fail(`${file} has SHA-256 ${sha256}, not the pinned ${wheel.sha256}: refusing to load it`)
    // a wheel is a zip; python (which pip needs anyway) unpacks the one member we want
    const member = `duckdb_extension_httpfs/extensions/v${HTTPFS_DUCKDB_VERSION}/httpfs.duckdb_extension`
    const unpacked = path.join(tmp, 'httpfs.duckdb_extension')
    const unzip = spawnSync(python, ['-c', 'import sys, zipfile, shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst: shutil.copyfileobj(src, dst)',
      path.join(tmp, file), member, unpacked], { encoding: 'utf8' })
    if (unzip.status !== 0) fail(`cannot unpack ${member} from ${file}: ${unzip.stderr.trim().split('\n').at(-1) ?? ''}`)
    fs.mkdirSync(path.dirname(target), { recursive: true })
    // renamed into place whole: a concurrent process sees no extension or all of it
    fs.copyFileSync(unpacked, `${target}.${process.pid}.tmp`)
    fs.renameSync(`${target}.${process.pid}.tmp`, target)
    return { path: target, installed: true }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

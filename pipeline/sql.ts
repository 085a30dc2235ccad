// Reads the SQL files in sql/: the single source of the transforms, shared with the Spark jobs.
import fs from 'node:fs'
import path from 'node:path'
import { packageRoot } from '../common/package-root.js'

const cache = new Map<string, string>()

export function loadSql (name: string): string {
  let sql = cache.get(name)
  if (sql === undefined) {
    sql = loadSqlScript(name).trim().replace(/;\s*$/, '')
    cache.set(name, sql)
  }
  return sql
}

/** A sql/ file of several statements, as it is (the state schema). */
export function loadSqlScript (name: string): string {
  return fs.readFileSync(path.join(packageRoot(), 'sql', `${name}.sql`), 'utf8')
}

// The five zone jobs over every landing record: each one SELECT from sql/, written whole as the next
// version of its table (one base file). A cold run, a full refresh and an option change run these;
// so does a verification, which is what keeps the incremental path honest.
import { JOBS } from '../../contracts/jobs.js'
import { defineTableView } from '../catalog.js'
import { loadSql } from '../sql.js'
import { type ZoneContext, type ZoneResult, writeTableFile } from './context.js'

export async function promoteFully (ctx: ZoneContext, hooks: { onJob?: (name: string, index: number) => void, lap?: (name: string) => void } = {}): Promise<ZoneResult> {
  const versions = []
  const written = []
  for (const [i, job] of JOBS.entries()) {
    hooks.onJob?.(job.name, i)
    const file = ctx.newFile(job.output, 'base')
    const rows = await writeTableFile(ctx, job.output, loadSql(job.name), file)
    written.push(file)
    versions.push({ table: job.output, version: (ctx.current.get(job.output)?.version ?? 0) + 1, runId: ctx.runId, rows, files: [file] })
    await defineTableView(ctx.engine, job.output, [ctx.uri(file)])
    hooks.lap?.(`job:${job.name}`)
  }
  return { versions, written }
}

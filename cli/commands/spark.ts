// `stedi spark setup`: the Python environment the Spark jobs run in (.venv in the package, from
// scripts/requirements.txt). It is remembered by the requirements' hash, so running it again (as
// `npm test` does) costs nothing until requirements.txt changes.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { packageRoot } from '../../common/package-root.js'
import { PipelineError } from '../../pipeline/errors.js'
import { type Command, UsageError, parse } from '../args.js'
import { JOBS } from '../../contracts/jobs.js'

const STAMP = '.stedi-requirements.sha256'

function unavailable (message: string): PipelineError {
  return new PipelineError('PIPE_ERR_SPARK_UNAVAILABLE', message)
}

function check (command: string, args: string[], what: string): string {
  const r = spawnSync(command, args, { encoding: 'utf8' })
  if (r.error !== undefined || r.status !== 0) throw unavailable(`${what} (${command} ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim().split('\n').at(-1) ?? `exit ${String(r.status)}`})`)
  return `${r.stdout}${r.stderr}`.trim()
}

export const sparkSetup: Command = {
  name: 'spark setup',
  usage: `stedi spark setup [--venv DIR] [--python PYTHON] [--quiet]

Creates the Python environment of the Spark jobs (scripts/) and installs scripts/requirements.txt
into it, unless it is installed already. Checks that Java (17 here; Spark 3.5 runs on 8/11/17) is on PATH.

  --venv DIR        where (default .venv in the package; STEDI_SPARK_PYTHON then is DIR/bin/python)
  --python PYTHON   the interpreter that creates it (default python3; 3.11 is what Glue 5.0 runs)
  --quiet           print nothing when it is already set up`,
  run: async (argv) => {
    const { values } = parse(argv, { venv: { type: 'string' }, python: { type: 'string' }, quiet: { type: 'boolean' } })
    if (values.help === true) { console.log(sparkSetup.usage); return 0 }
    const root = packageRoot()
    const venv = path.resolve(values.venv ?? path.join(root, '.venv'))
    const requirements = fs.readFileSync(path.join(root, 'scripts', 'requirements.txt'))
    const wanted = createHash('sha256').update(requirements).digest('hex')
    const python = path.join(venv, 'bin', 'python')
    const java = check('java', ['-version'], 'Java is needed by Spark: install a JRE 17 (Debian: openjdk-17-jre-headless)').split('\n')[0]
    const stamp = path.join(venv, STAMP)
    if (fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === wanted) {
      if (values.quiet !== true) console.log(`spark setup: ${venv} is up to date (${java})`)
      return 0
    }
    if (!fs.existsSync(python)) {
      check(values.python ?? 'python3', ['-m', 'venv', venv], `cannot create a Python virtual environment at ${venv}`)
    }
    const started = performance.now()
    const pip = spawnSync(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', path.join(root, 'scripts', 'requirements.txt')], { stdio: 'inherit' })
    if (pip.status !== 0) throw unavailable(`pip could not install scripts/requirements.txt into ${venv} (exit ${String(pip.status)})`)
    check(python, ['-c', 'import pyspark, pyarrow, pandas'], `the packages do not import in ${venv}`)
    fs.writeFileSync(stamp, `${wanted}\n`)
    console.log(`spark setup: installed scripts/requirements.txt into ${venv} in ${Math.round((performance.now() - started) / 1000)} s (${java})`)
    return 0
  }
}

export const sparkPackage: Command = {
  name: 'spark package',
  usage: `stedi spark package --out DIR

Writes what a Glue deployment uploads to S3 (scripts/README.md says where each goes):
  DIR/scripts/<job>.py       the five job scripts (Glue's ScriptLocation)
  DIR/stedi_spark.zip        the package they import (Glue's --extra-py-files)
  DIR/sql/*.sql              the SQL they run and the state schema (the jobs' --sql_dir)`,
  run: async (argv) => {
    const { values } = parse(argv, { out: { type: 'string' } })
    if (values.help === true) { console.log(sparkPackage.usage); return 0 }
    if (values.out === undefined) throw new UsageError('--out DIR is required')
    const root = packageRoot()
    const out = path.resolve(values.out)
    fs.mkdirSync(path.join(out, 'scripts'), { recursive: true })
    fs.mkdirSync(path.join(out, 'sql'), { recursive: true })
    for (const job of JOBS) fs.copyFileSync(path.join(root, 'scripts', `${job.name}.py`), path.join(out, 'scripts', `${job.name}.py`))
    fs.copyFileSync(path.join(root, 'scripts', 'run_all.py'), path.join(out, 'scripts', 'run_all.py'))
    for (const name of fs.readdirSync(path.join(root, 'sql')).filter((n) => n.endsWith('.sql'))) {
      fs.copyFileSync(path.join(root, 'sql', name), path.join(out, 'sql', name))
    }
    const zip = path.join(out, 'stedi_spark.zip')
    // the package zips itself (the same zip a spark-submit run ships to its workers)
    const members = check('python3', ['-c', 'import sys; sys.path.insert(0, sys.argv[1]); from stedi_spark.entry import write_package_zip; print(len(write_package_zip(sys.argv[2])))',
      path.join(root, 'scripts'), zip], 'cannot write stedi_spark.zip')
    console.log(`spark package: ${out} (${JOBS.length} job scripts + run_all.py, stedi_spark.zip with ${members} files, sql/)`)
    return 0
  }
}

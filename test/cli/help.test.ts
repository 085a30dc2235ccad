// `stedi --help` lists every subcommand, and each answers --help.
import t from 'tap'
import { cli } from '../helpers/index.js'

t.test('stedi --help lists the subcommands; each has --help', async (t) => {
  const help = await cli(['--help'])
  t.equal(help.code, 0)
  const names = [...help.stdout.matchAll(/^ {2}(\S+(?: \S+)?) {2,}/gm)].map((m) => m[1].trim())
  t.ok(names.length >= 6, names.join(', '))
  for (const expected of ['pipeline run', 'pipeline schedule', 'counts', 'query', 'demo']) t.ok(names.includes(expected), expected)
  for (const name of names) {
    const sub = await cli([...name.split(' '), '--help'])
    t.equal(sub.code, 0, name)
    t.match(sub.stdout, new RegExp(`^stedi ${name}`), `${name} --help starts with its usage`)
  }
  t.equal((await cli([])).code, 2, 'no command is a usage error')
})

// The README's configuration section keeps up with the code: every environment variable the code
// reads and every option of every command is in it; the systemd units in deploy/ verify; the log
// level is checked.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { ROOT, cli } from '../helpers/index.js'

/** The README's configuration section, and the gateway's limits table it links to. */
async function configurationSection (): Promise<string> {
  const readme = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8')
  const part = (heading: string): string => {
    const start = readme.indexOf(`\n${heading}\n`)
    const level = heading.split(' ')[0]
    return start < 0 ? '' : readme.slice(start, readme.indexOf(`\n${level} `, start + 1))
  }
  return part('## Configuration') + part('### Limits (options of `stedi gateway`, with their defaults)')
}

async function sources (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await fs.readdir(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.ts') && !e.parentPath.includes('node_modules')) out.push(await fs.readFile(path.join(e.parentPath, e.name), 'utf8'))
  }
  return out
}

t.test('every environment variable the code reads is in the configuration section', async (t) => {
  const section = await configurationSection()
  const found = new Set<string>()
  for (const dir of ['cli', 'common', 'gateway', 'pipeline', 'simulator', 'firmware-mock', 'contracts']) {
    for (const text of await sources(dir)) {
      for (const m of text.matchAll(/\benv(?:\?)?\.([A-Z][A-Z0-9_]+)|\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]|given\('([A-Z][A-Z0-9_]+)'\)/g)) found.add(m[1] ?? m[2] ?? m[3])
    }
  }
  t.ok(found.size >= 10, [...found].join(', '))
  for (const name of found) t.match(section, `\`${name}\``, name)
})

t.test('every option of every command is in the configuration section', async (t) => {
  const section = await configurationSection()
  const help = await cli(['--help'])
  const names = [...help.stdout.matchAll(/^ {2}(\S+(?: \S+)?) {2,}/gm)].map((m) => m[1].trim())
  for (const name of [...names.filter((n) => n !== 's3'), 's3 setup', 's3 serve', 's3 ddl']) {
    const usage = (await cli([...name.split(' '), '--help'])).stdout
    // the flags of the synopsis (the first paragraph) and of the option lines, not those quoted in prose
    const synopsis = usage.split('\n\n')[0]
    const options = usage.split('\n').filter((l) => /^\s+--/.test(l)).join('\n')
    const flags = new Set([...`${synopsis}\n${options}`.matchAll(/(?<![\w-])--([a-z][a-z0-9-]+)/g)].map((m) => `--${m[1]}`))
    for (const flag of flags) if (flag !== '--help') t.match(section, flag, `${name} ${flag}`)
  }
})

t.test('the systemd units verify', async (t) => {
  const units = (await fs.readdir(path.join(ROOT, 'deploy'))).filter((n) => n.endsWith('.service'))
  t.ok(units.length >= 2, units.join(', '))
  // .ci/run installs systemd where systemd-analyze is missing
  const r = spawnSync('systemd-analyze', ['verify', ...units.map((u) => path.join(ROOT, 'deploy', u))], { encoding: 'utf8' })
  t.equal(r.error, undefined, 'systemd-analyze is installed')
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stderr.trim(), '', 'no warnings')
  for (const u of units) {
    const text = await fs.readFile(path.join(ROOT, 'deploy', u), 'utf8')
    t.match(text, /^EnvironmentFile=/m, `${u}: secrets from an EnvironmentFile`)
    t.notMatch(text, /^Environment=.*(SECRET|KEY)/m, `${u}: no secret in the unit`)
  }
})

t.test('a bad STEDI_LOG_LEVEL is a usage error', async (t) => {
  const r = await cli(['gateway', '--landing', '/nonexistent-stedi-l', '--state', '/nonexistent-stedi-s'], { env: { STEDI_LOG_LEVEL: 'loud', STEDI_GATEWAY_SECRET: 'x'.repeat(32) } })
  t.equal(r.code, 2)
  t.match(r.stderr, 'STEDI_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got loud)')
})

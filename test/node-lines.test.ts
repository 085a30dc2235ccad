// The Node.js lines the platform supports: package.json's engines, the README and CI's smoke run
// name the same ones, and the Node running the tests is one of them. CI runs the full suite on the
// machine's Node and the smoke subset on Node 24 (.ci/node-smoke), which sets
// STEDI_EXPECT_NODE_MAJOR: there this test fails unless the tests, and the processes they start as
// the CLI tests do, run on that major.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { ROOT, spawnCollect } from './helpers/index.js'

const packageJson = async (): Promise<{ engines: { node: string } }> => JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }

/** the ranges of engines.node, each ^MAJOR.MINOR.PATCH (the only form used, so the only one read) */
function caretRanges (engines: string): Array<[number, number, number]> {
  return engines.split('||').map((r) => {
    const m = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(r)
    if (m === null) throw new Error(`engines.node: "${r.trim()}" is not ^MAJOR.MINOR.PATCH`)
    return [Number(m[1]), Number(m[2]), Number(m[3])]
  })
}

const satisfies = (version: string, ranges: Array<[number, number, number]>): boolean => {
  const [major, minor, patch] = version.replace(/^v/, '').split('.').map(Number)
  return ranges.some(([M, m, p]) => major === M && (minor > m || (minor === m && patch >= p)))
}

t.test('engines: one caret range per supported line, each an LTS (even) line', async (t) => {
  const ranges = caretRanges((await packageJson()).engines.node)
  t.ok(ranges.length >= 2, `${ranges.length} lines`)
  for (const [major] of ranges) t.equal(major % 2, 0, `Node ${major} is an LTS line`)
  t.ok(satisfies('20.17.0', ranges) && !satisfies('20.16.0', ranges) && !satisfies('21.7.0', ranges) && !satisfies('18.20.0', ranges), 'the ranges read as npm reads them')
})

t.test('the Node running the tests is a supported line', async (t) => {
  const engines = (await packageJson()).engines.node
  t.ok(satisfies(process.version, caretRanges(engines)), `${process.version} within ${engines}`)
})

t.test('the README and CI name the lines engines declares', async (t) => {
  const majors = caretRanges((await packageJson()).engines.node).map(([major]) => major)
  const readme = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8')
  const stated = /^Supported Node\.js lines: ([^.]+)\./m.exec(readme)
  t.ok(stated !== null, 'the README has a "Supported Node.js lines: ..." sentence')
  t.same([...(stated?.[1] ?? '').matchAll(/\b(\d+)\b/g)].map((m) => Number(m[1])), majors, stated?.[0] ?? 'no sentence')
  const smoke = /^default_version=(\d+)\.\d+\.\d+$/m.exec(await fs.readFile(path.join(ROOT, '.ci/node-smoke'), 'utf8'))
  t.ok(smoke !== null && majors.includes(Number(smoke[1])), `.ci/node-smoke runs Node ${smoke?.[1]}, a declared line`)
  t.match(await fs.readFile(path.join(ROOT, '.ci/run'), 'utf8'), /^\.ci\/node-smoke\b/m, '.ci/run calls it')
})

const expected = process.env.STEDI_EXPECT_NODE_MAJOR
t.test('the smoke run is on the Node it was asked for, and so are the processes the tests start', { skip: expected === undefined ? 'not a smoke run (STEDI_EXPECT_NODE_MAJOR unset)' : false }, async (t) => {
  t.equal(process.versions.node.split('.')[0], expected, `this test runs on ${process.version}`)
  // the CLI tests start `stedi` with process.execPath: that binary is the one asked for
  const child = await spawnCollect(process.execPath, ['-p', 'process.versions.node'])
  t.equal(child.stdout.trim().split('.')[0], expected, `a child started as the CLI tests start one runs on ${child.stdout.trim()}`)
})

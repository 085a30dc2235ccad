// stedi query: read-only SQL over the zone tables by their seed names, in three formats.
import t from 'tap'
import { T0, cli, customer, run, tempDir, writeLanding } from '../helpers/index.js'

t.test('stedi query reads, and refuses anything that writes', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer('a@test.com', 's1', { shareWithResearchAsOfDate: T0, customerName: 'Comma, "Quoted"' }),
    customer('b@test.com', 's2')
  ])
  await run({ landingDir: landing, lakehouseDir: lakehouse })

  const json = await cli(['query', '--lakehouse', lakehouse, '--format', 'json', 'SELECT email, registrationDate FROM customer_landing ORDER BY email'])
  t.equal(json.code, 0, json.stderr)
  t.same(JSON.parse(json.stdout), [{ email: 'a@test.com', registrationDate: T0 }, { email: 'b@test.com', registrationDate: T0 }])

  const csv = await cli(['query', '--lakehouse', lakehouse, '--format', 'csv', 'SELECT customerName, email FROM customer_trusted'])
  t.equal(csv.stdout, 'customerName,email\n"Comma, ""Quoted""",a@test.com\n')

  const table = await cli(['query', '--lakehouse', lakehouse, 'SELECT count(*) AS n FROM customer_curated'])
  t.equal(table.stdout, 'n\n-\n0\n(1 row)\n')

  for (const sql of [
    'DELETE FROM customer_landing',
    'DROP VIEW customer_trusted',
    "COPY customer_trusted TO '/tmp/stolen.csv'",
    'CREATE TABLE x AS SELECT 1',
    'INSERT INTO customer_landing SELECT * FROM customer_landing',
    'UPDATE customer_trusted SET email = NULL',
    "ATTACH '/tmp/other.db'",
    'SET memory_limit = \'1GB\''
  ]) {
    const r = await cli(['query', '--lakehouse', lakehouse, sql])
    t.equal(r.code, 1, sql)
    t.match(r.stderr, /refused: stedi query only runs SELECT statements.*\[PIPE_ERR_QUERY_NOT_READ_ONLY\]/, sql)
  }
  const two = await cli(['query', '--lakehouse', lakehouse, 'SELECT 1; DELETE FROM customer_landing'])
  t.match(two.stderr, /exactly one SELECT statement \(got 2\)/)
  const outside = await cli(['query', '--lakehouse', lakehouse, "SELECT * FROM read_csv('/etc/hostname')"])
  t.equal(outside.code, 1)
  t.match(outside.stderr, /PIPE_ERR_QUERY_FAILED/, 'files outside the lakehouse are out of reach')
  const unknown = await cli(['query', '--lakehouse', lakehouse, 'SELECT * FROM no_such_table'])
  t.match(unknown.stderr, /no_such_table does not exist.*\[PIPE_ERR_QUERY_FAILED\]/)
})

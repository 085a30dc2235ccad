// The reference the pipeline is measured against: a plain DuckDB load, the five seed joins and a
// Parquet write of the five output tables, with no validation, state, accounting or atomicity.
// usage: node bench/plain-duckdb.mjs LANDING OUT_DIR
import { DuckDBInstance } from '@duckdb/node-api'

const [landing, out] = process.argv.slice(2)
const instance = await DuckDBInstance.create(':memory:')
const db = await instance.connect()
const statements = [
  `CREATE TABLE cl AS SELECT * FROM read_json('${landing}/customer/landing/*.json')`,
  `CREATE TABLE al AS SELECT * FROM read_json('${landing}/accelerometer/landing/*.json')`,
  `CREATE TABLE sl AS SELECT * FROM read_json('${landing}/step_trainer/landing/*.json')`,
  'CREATE TABLE ct AS SELECT * FROM cl WHERE shareWithResearchAsOfDate IS NOT NULL',
  'CREATE TABLE act AS SELECT a.* FROM al a JOIN ct c ON a.user = c.email',
  'CREATE TABLE cc AS SELECT * FROM ct WHERE email IN (SELECT user FROM act)',
  'CREATE TABLE st AS SELECT s.* FROM sl s JOIN cc c ON s.serialNumber = c.serialNumber',
  'CREATE TABLE ml AS SELECT * FROM st s JOIN act a ON s.sensorReadingTime = a.timestamp',
  ...['ct', 'act', 'cc', 'st', 'ml'].map((t) => `COPY ${t} TO '${out}/${t}.parquet' (FORMAT parquet)`)
]
for (const sql of statements) await db.run(sql)
const reader = await db.runAndReadAll('SELECT (SELECT count(*) FROM ml) AS ml')
console.log(JSON.stringify({ machine_learning: Number(reader.getRowObjectsJS()[0].ml) }))
db.closeSync()
instance.closeSync()

// Landing lines at the edges of the input rules, for holding the Spark reader to the embedded one.
// Each is written as given; the file also gets CRLF endings, blank lines and a line that is not UTF-8.
const ok = { user: 'edge@test.com', timestamp: 1655564444103, x: 1, y: 0, z: -1 }
const body = '"user":"edge@test.com","timestamp":1655564444103,"x":1,"y":0'

export const TRICKY_ACCELEROMETER: readonly string[] = [
  JSON.stringify(ok),
  `{${body},"z":-0}`, // -0 is the integer 0
  `{${body},"z":-0.0}`,
  `{${body},"z":1E2}`,
  `{${body},"z":1.5e-400}`, // underflows to 0
  `{${body},"z":1e400}`, // overflows: not a finite number
  `{${body},"z":123456789012345678901234567890.5}`,
  `{${body},"z":99999999999999999999}`,
  `{${body},"z":NaN}`,
  `{${body},"z":-Infinity}`,
  `{${body},"z":1,"extra":nan}`, // a literal DuckDB accepts where no field is read
  `{${body},"z":1,"extra":-INF}`,
  `{${body},"z":1,}`, // one trailing comma
  `{${body},"z":1,"extra":[1,2,]}`,
  `{${body},"z":1,,}`,
  `{${body},"z":1 /* comment */}`,
  `{${body},"z":+1}`,
  `{${body},"z":.5}`,
  `{${body},"z":01}`,
  `{${body},"z":"1"}`,
  `{${body},"z":true}`,
  `{${body},"z":null}`,
  `{${body},"z":[1]}`,
  `{${body},"z":{"v":1}}`,
  `{${body},"z":1,"x":2}`, // duplicate key
  `{${body},"z":1,"nested":{"a":1,"a":2}}`, // a nested duplicate is not the record's
  `{${body},"z":1,"\\u0078":5}`, // "x" again, escaped
  '{"user":"edge@test.com","timestamp":9223372036854775807,"x":1,"y":0,"z":1}',
  '{"user":"edge@test.com","timestamp":9223372036854775808,"x":1,"y":0,"z":1}',
  '{"user":"edge@test.com","timestamp":-9223372036854775808,"x":1,"y":0,"z":1}',
  '{"user":"edge@test.com","timestamp":1655564444103.0,"x":1,"y":0,"z":1}',
  '{"user":"edge@test.com","timestamp":1.655564444103e12,"x":1,"y":0,"z":1}',
  '{"user":"\\ud83d\\ude00@test.com","timestamp":1,"x":1,"y":0,"z":1}', // a surrogate pair is one character
  '{"user":"\\ud800@test.com","timestamp":1,"x":1,"y":0,"z":1}', // a lone surrogate is not
  '{"user":"tab\\there@test.com","timestamp":1,"x":1,"y":0,"z":1}',
  '{"user":"nul\\u0000@test.com","timestamp":1,"x":1,"y":0,"z":1}',
  '{"user":"","timestamp":1,"x":1,"y":0,"z":1}',
  '{"timestamp":1,"x":1,"y":0,"z":1}',
  '{"user":"edge@test.com","timestamp":1,"x":1,"y":0}',
  '  {"user":"spaces@test.com","timestamp":1,"x":1,"y":0,"z":1}  ',
  '\t{"user":"tab@test.com","timestamp":1,"x":1,"y":0,"z":1}',
  '{"user":"edge@test.com","timestamp":1,"x":1,"y":0,"z":1}\f',
  '{"user":"a@test.com","timestamp":1,"x":1,"y":0,"z":1} {"user":"b@test.com"}',
  '{}',
  '[]',
  '[1,2,]',
  '{,}',
  '"just a string"',
  '42',
  'null',
  '{"user": "truncated@test.com", "timestamp": 16555',
  `{"deep":${'['.repeat(200)}${']'.repeat(200)},${body},"z":1}`
]

// Customer records at the edges of the date range [2015-01-01, 2100-01-01) and of text: the first
// lines are all valid (a file of them alone takes the embedded engine's fast path).
const person = '"email":"dates@test.com","serialNumber":"dates-serial"'
export const EDGE_CUSTOMERS_VALID: readonly string[] = [
  `{${person},"registrationDate":1420070400000,"lastUpdateDate":1420070400000,"shareWithResearchAsOfDate":1420070400000}`,
  `{${person},"lastUpdateDate":4102444799999,"shareWithPublicAsOfDate":4102444799999,"shareWithFriendsAsOfDate":4102444799999}`,
  '{"customerName":"Anna \\ud83d\\ude00","email":"pair@test.com","serialNumber":"p","lastUpdateDate":1655564444103}', // a surrogate pair is one character
  '{"customerName":"line\\u2028sep\u2028raw \\u0000 \\/","email":"escapes@test.com","serialNumber":"e","lastUpdateDate":1655564444103}'
]
export const TRICKY_CUSTOMER: readonly string[] = [
  ...EDGE_CUSTOMERS_VALID,
  `{${person},"lastUpdateDate":4102444800000}`, // 2100-01-01
  `{${person},"registrationDate":1420070399999}`,
  `{${person},"lastUpdateDate":1655564444103000}`, // microseconds
  `{${person},"lastUpdateDate":1655564444103000000}`, // nanoseconds, still 64 bits
  `{${person},"shareWithResearchAsOfDate":1655564444}`, // seconds
  `{${person},"shareWithResearchAsOfDate":-1655564444103}`,
  `{${person},"lastUpdateDate":-0}`,
  `{${person},"lastUpdateDate":9223372036854775807}`,
  `{${person},"lastUpdateDate":1655564444103.0}`,
  `{${person},"registrationDate":1,"lastUpdateDate":"soon"}`, // the first field that breaks a rule decides
  `{${person},"lastUpdateDate":null,"shareWithResearchAsOfDate":1655564444103}`,
  '{"customerName":"Anna \\ud83d","email":"cut@test.com","serialNumber":"c","lastUpdateDate":1655564444103}' // an emoji cut in half
]

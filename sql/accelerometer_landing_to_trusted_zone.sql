-- accelerometer_trusted: phone readings of customers in customer_trusted, exact duplicates removed
-- (at-least-once delivery redelivers records and whole files). Under the strict consent policy only
-- readings taken at or after the owner's shareWithResearchAsOfDate are kept.
-- Inputs: accelerometer_landing, customer_trusted, pipeline_options. Shared by DuckDB and Spark SQL.
SELECT DISTINCT a.user, a.timestamp, a.x, a.y, a.z
FROM accelerometer_landing a
JOIN customer_trusted c ON a.user = c.email
CROSS JOIN pipeline_options o
WHERE o.consent_policy = 'seed'
   OR a.timestamp >= c.shareWithResearchAsOfDate

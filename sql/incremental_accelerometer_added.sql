-- Incremental promotion: the accelerometer_trusted rows this run adds. For a customer whose trusted
-- row is unchanged, the new landing rows that pass (the rule of accelerometer_landing_to_trusted_zone)
-- and are not already trusted; for a changed customer, every landing row of theirs that passes (their
-- old rows are removed by the runner). The union with the kept previous rows is, row for row, what
-- the full job gives. The previous rows are looked at only within the new rows' time span (the view
-- accelerometer_trusted_near_new: a filter on constants, so that Parquet statistics skip the rest).
-- The changed customers' rows come from accelerometer_landing_restanding: the landing rows of every
-- customer whose standing may have changed, read once for this and for the accounting.
-- Inputs: accelerometer_landing_new, accelerometer_landing_restanding, customer_trusted,
-- changed_customers, accelerometer_trusted_near_new, pipeline_options. Embedded engine only.
(
  SELECT DISTINCT a.user, a.timestamp, a.x, a.y, a.z
  FROM accelerometer_landing_new a
  JOIN customer_trusted c ON a.user = c.email
  CROSS JOIN pipeline_options o
  WHERE (o.consent_policy = 'seed' OR a.timestamp >= c.shareWithResearchAsOfDate)
    AND a.user NOT IN (SELECT email FROM changed_customers)
  EXCEPT
  SELECT p.user, p.timestamp, p.x, p.y, p.z
  FROM accelerometer_trusted_near_new p
)
UNION ALL
SELECT DISTINCT a.user, a.timestamp, a.x, a.y, a.z
FROM accelerometer_landing_restanding a
JOIN customer_trusted c ON a.user = c.email
CROSS JOIN pipeline_options o
WHERE (o.consent_policy = 'seed' OR a.timestamp >= c.shareWithResearchAsOfDate)
  AND a.user IN (SELECT email FROM changed_customers)

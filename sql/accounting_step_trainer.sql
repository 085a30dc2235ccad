-- Where every valid step trainer landing record went, by the first rule that excludes it:
-- no_matching_customer (no customer record has this serialNumber), no_consent (no consenting
-- owner), no_accelerometer_data (the consenting owner has no trusted phone readings, so is not in
-- customer_curated), before_consent (strict policy only), else kept. Kept records beyond the trusted
-- rows are exact duplicates. Inputs: step_trainer_landing, customer_landing, customer_trusted,
-- customer_curated, pipeline_options. Shared by DuckDB and Spark SQL. Membership is a LEFT JOIN
-- on distinct keys, not NOT IN: inside a CASE, Spark runs NOT IN as a nested loop over both tables
-- (serial numbers are never null, so the two mean the same).
SELECT CASE
         WHEN known.serialNumber IS NULL THEN 'no_matching_customer'
         WHEN consenting.serialNumber IS NULL THEN 'no_consent'
         WHEN c.serialNumber IS NULL THEN 'no_accelerometer_data'
         WHEN o.consent_policy = 'strict' AND s.sensorReadingTime < c.consent THEN 'before_consent'
         ELSE 'kept'
       END AS reason,
       count(*) AS records
FROM step_trainer_landing s
LEFT JOIN (SELECT DISTINCT serialNumber FROM customer_landing) known ON known.serialNumber = s.serialNumber
LEFT JOIN (SELECT DISTINCT serialNumber FROM customer_trusted) consenting ON consenting.serialNumber = s.serialNumber
LEFT JOIN (
  SELECT serialNumber, min(shareWithResearchAsOfDate) AS consent
  FROM customer_curated
  GROUP BY serialNumber
) c ON s.serialNumber = c.serialNumber
CROSS JOIN pipeline_options o
GROUP BY 1

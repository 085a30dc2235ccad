-- Where every valid step trainer landing record went, by the first rule that excludes it:
-- no_matching_customer (no customer record has this serialNumber), no_consent (no consenting
-- owner), no_accelerometer_data (the consenting owner has no trusted phone readings, so is not in
-- customer_curated), before_consent (strict policy only), else kept. Kept records beyond the trusted
-- rows are exact duplicates. Inputs: step_trainer_landing, customer_landing, customer_trusted,
-- customer_curated, pipeline_options. Shared by DuckDB and Spark SQL.
SELECT CASE
         WHEN s.serialNumber NOT IN (SELECT serialNumber FROM customer_landing) THEN 'no_matching_customer'
         WHEN s.serialNumber NOT IN (SELECT serialNumber FROM customer_trusted) THEN 'no_consent'
         WHEN c.serialNumber IS NULL THEN 'no_accelerometer_data'
         WHEN o.consent_policy = 'strict' AND s.sensorReadingTime < c.consent THEN 'before_consent'
         ELSE 'kept'
       END AS reason,
       count(*) AS records
FROM step_trainer_landing s
LEFT JOIN (
  SELECT serialNumber, min(shareWithResearchAsOfDate) AS consent
  FROM customer_curated
  GROUP BY serialNumber
) c ON s.serialNumber = c.serialNumber
CROSS JOIN pipeline_options o
GROUP BY 1

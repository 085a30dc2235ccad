-- Where every valid accelerometer landing record went, by the first rule that excludes it:
-- no_matching_customer (no customer record has this email), no_consent (the customer's latest
-- record has no research consent), before_consent (strict policy only), else kept. Kept records
-- beyond the trusted rows are exact duplicates. Inputs: accelerometer_landing, customer_landing,
-- customer_trusted, pipeline_options. Shared by DuckDB and Spark SQL. Membership is a LEFT JOIN
-- on distinct keys, not NOT IN: inside a CASE, Spark runs NOT IN as a nested loop over both tables
-- (emails are never null, so the two mean the same).
SELECT CASE
         WHEN known.email IS NULL THEN 'no_matching_customer'
         WHEN c.email IS NULL THEN 'no_consent'
         WHEN o.consent_policy = 'strict' AND a.timestamp < c.shareWithResearchAsOfDate THEN 'before_consent'
         ELSE 'kept'
       END AS reason,
       count(*) AS records
FROM accelerometer_landing a
LEFT JOIN (SELECT DISTINCT email FROM customer_landing) known ON known.email = a.user
LEFT JOIN customer_trusted c ON a.user = c.email
CROSS JOIN pipeline_options o
GROUP BY 1

-- step_trainer_trusted: Step Trainer readings whose serialNumber belongs to a customer in
-- customer_curated, exact duplicates removed. Under the strict consent policy only readings taken at
-- or after that owner's shareWithResearchAsOfDate are kept.
-- Inputs: step_trainer_landing, customer_curated, pipeline_options. Shared by DuckDB and Spark SQL.
SELECT DISTINCT s.sensorReadingTime, s.serialNumber, s.distanceFromObject
FROM step_trainer_landing s
JOIN customer_curated c ON s.serialNumber = c.serialNumber
CROSS JOIN pipeline_options o
WHERE o.consent_policy = 'seed'
   OR s.sensorReadingTime >= c.shareWithResearchAsOfDate

-- machine_learning_curated: each trusted trainer reading paired with the trusted phone readings
-- taken in the same millisecond (sensorReadingTime = timestamp), as the seed defines it. That join
-- can pair a trainer with another customer's phone; ml_join = 'same-customer' keeps only pairs
-- whose phone user owns the trainer (serialNumber -> customer email).
-- Inputs: step_trainer_trusted, accelerometer_trusted, customer_curated, pipeline_options.
-- Shared by DuckDB and Spark SQL.
SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject,
       a.user, a.timestamp, a.x, a.y, a.z
FROM step_trainer_trusted s
JOIN accelerometer_trusted a ON a.timestamp = s.sensorReadingTime
CROSS JOIN pipeline_options o
LEFT JOIN (SELECT DISTINCT serialNumber, email FROM customer_curated) owner
  ON owner.serialNumber = s.serialNumber AND owner.email = a.user
WHERE o.ml_join = 'seed'
   OR owner.email IS NOT NULL

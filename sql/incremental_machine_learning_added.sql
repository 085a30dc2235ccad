-- Incremental promotion: the machine_learning_curated rows this run adds: the pairs (rule of
-- trainer_trusted_to_curated) that have an added trainer reading, with any trusted phone reading, and
-- those that pair a kept trainer reading with an added phone reading. Two disjoint sets (an added
-- trainer reading is never a kept one); with the kept previous rows, exactly the full join. The big
-- sides are read only within the small sides' time spans (the views *_near_*: filters on constants).
-- Inputs: step_trainer_added, accelerometer_trusted_near_trainer_added, step_trainer_kept_near_added,
-- accelerometer_added, customer_curated, pipeline_options. Embedded engine only.
SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject,
       a.user, a.timestamp, a.x, a.y, a.z
FROM step_trainer_added s
JOIN accelerometer_trusted_near_trainer_added a ON a.timestamp = s.sensorReadingTime
CROSS JOIN pipeline_options o
LEFT JOIN (SELECT DISTINCT serialNumber, email FROM customer_curated) owner
  ON owner.serialNumber = s.serialNumber AND owner.email = a.user
WHERE o.ml_join = 'seed'
   OR owner.email IS NOT NULL
UNION ALL
SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject,
       a.user, a.timestamp, a.x, a.y, a.z
FROM step_trainer_kept_near_added s
JOIN accelerometer_added a ON a.timestamp = s.sensorReadingTime
CROSS JOIN pipeline_options o
LEFT JOIN (SELECT DISTINCT serialNumber, email FROM customer_curated) owner
  ON owner.serialNumber = s.serialNumber AND owner.email = a.user
WHERE o.ml_join = 'seed'
   OR owner.email IS NOT NULL

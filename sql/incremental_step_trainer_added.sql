-- Incremental promotion: the step_trainer_trusted rows this run adds. For a trainer whose curated
-- owners are unchanged, the new landing rows that pass (the rule of trainer_landing_to_trusted) and
-- are not already trusted; for a changed trainer, every landing row of its that passes (its old rows
-- are removed by the runner). Inputs: step_trainer_landing_new, step_trainer_landing_restanding (the
-- landing rows of every trainer whose standing may have changed, read once for this and for the
-- accounting), customer_curated, changed_serials, step_trainer_trusted_near_new (the previous rows
-- within the new rows' time span), pipeline_options. Embedded engine only.
(
  SELECT DISTINCT s.sensorReadingTime, s.serialNumber, s.distanceFromObject
  FROM step_trainer_landing_new s
  JOIN customer_curated c ON s.serialNumber = c.serialNumber
  CROSS JOIN pipeline_options o
  WHERE (o.consent_policy = 'seed' OR s.sensorReadingTime >= c.shareWithResearchAsOfDate)
    AND s.serialNumber NOT IN (SELECT serialNumber FROM changed_serials)
  EXCEPT
  SELECT p.sensorReadingTime, p.serialNumber, p.distanceFromObject
  FROM step_trainer_trusted_near_new p
)
UNION ALL
SELECT DISTINCT s.sensorReadingTime, s.serialNumber, s.distanceFromObject
FROM step_trainer_landing_restanding s
JOIN customer_curated c ON s.serialNumber = c.serialNumber
CROSS JOIN pipeline_options o
WHERE (o.consent_policy = 'seed' OR s.sensorReadingTime >= c.shareWithResearchAsOfDate)
  AND s.serialNumber IN (SELECT serialNumber FROM changed_serials)

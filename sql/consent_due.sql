-- When the next research consent comes due: the earliest shareWithResearchAsOfDate that is still in
-- the future at this run's start (null: none). A run with nothing new after that moment is not
-- "unchanged": that customer enters trusted then. Any record counts, not only each customer's latest
-- (at worst a run recomputes for nothing). Inputs: customer_landing, pipeline_options. Embedded engine.
SELECT min(l.shareWithResearchAsOfDate) AS due
FROM customer_landing l
CROSS JOIN pipeline_options o
WHERE l.shareWithResearchAsOfDate > o.run_started_ms

-- customer_trusted: one row per customer (email), taken from that customer's latest record
-- (largest lastUpdateDate; on a tie the one in the later landing file by name, then the later line:
-- an order that belongs to the files, so that a run that reads a late file alone and a run that reads
-- every file at once choose the same record; the gateway's names sort by arrival), kept only while that record
-- carries research consent dated no later than the run's start (a consent dated in the future is
-- not given yet). Older records and exact duplicates fall away with the ranking, so a customer who
-- withdraws consent leaves trusted (and everything downstream) at the next run.
-- Inputs: customer_landing (with lineage _run, _file, _line), pipeline_options. Shared by DuckDB and Spark SQL.
SELECT customerName, email, phone, birthDay, serialNumber, registrationDate, lastUpdateDate,
       shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
FROM (
  SELECT l.*,
         row_number() OVER (
           PARTITION BY l.email
           ORDER BY l.lastUpdateDate DESC NULLS LAST, l._file DESC, l._line DESC, l._run DESC
         ) AS recency
  FROM customer_landing l
) ranked
CROSS JOIN pipeline_options o
WHERE recency = 1
  AND shareWithResearchAsOfDate IS NOT NULL
  AND shareWithResearchAsOfDate <= o.run_started_ms

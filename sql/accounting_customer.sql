-- Where every valid customer landing record went: landing = trusted + duplicate + superseded +
-- no_consent. Exact duplicates collapse first, then each email keeps its latest record, then consent
-- decides. Inputs: customer_landing, customer_trusted. Shared by DuckDB and Spark SQL.
WITH distinct_records AS (
  SELECT DISTINCT customerName, email, phone, birthDay, serialNumber, registrationDate,
         lastUpdateDate, shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
  FROM customer_landing
), totals AS (
  SELECT (SELECT count(*) FROM customer_landing) AS landing,
         (SELECT count(*) FROM distinct_records) AS distinct_records,
         (SELECT count(DISTINCT email) FROM customer_landing) AS customers,
         (SELECT count(*) FROM customer_trusted) AS trusted
)
SELECT 'trusted' AS reason, trusted AS records FROM totals
UNION ALL SELECT 'duplicate', landing - distinct_records FROM totals
UNION ALL SELECT 'superseded', distinct_records - customers FROM totals
UNION ALL SELECT 'no_consent', customers - trusted FROM totals

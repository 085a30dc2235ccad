-- Data-quality warning: machine-learning rows that pair a trainer with a phone reading of a
-- customer who does not own that trainer (the seed's timestamp-only join allows it).
-- Inputs: machine_learning_curated, customer_curated. Shared by DuckDB and Spark SQL.
SELECT count(*) AS pairs
FROM machine_learning_curated m
LEFT JOIN (SELECT DISTINCT serialNumber, email FROM customer_curated) owner
  ON owner.serialNumber = m.serialNumber AND owner.email = m.user
WHERE owner.email IS NULL

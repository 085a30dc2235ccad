-- Incremental promotion: the customers whose trusted row changed in this run (new, gone, or any field
-- different), from the previous and the new customer_trusted. Everything downstream of a customer is
-- recomputed from landing for these emails only. A consent dated in the future that has come due,
-- a withdrawal, a superseding record: each changes the trusted row, so each lands here.
-- Inputs: customer_trusted_previous, customer_trusted. Embedded engine only (Spark recomputes).
SELECT DISTINCT email FROM (
  (SELECT * FROM customer_trusted_previous EXCEPT SELECT * FROM customer_trusted)
  UNION ALL
  (SELECT * FROM customer_trusted EXCEPT SELECT * FROM customer_trusted_previous)
) changed

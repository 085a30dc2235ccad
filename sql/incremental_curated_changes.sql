-- Incremental promotion: the serial numbers whose step trainer readings are judged anew, because a
-- curated customer carrying one changed (joined, left, or any field different, its consent date
-- above all). Both the previous and the new row's serial count: a customer whose record moved to
-- another trainer affects both. Inputs: customer_curated_previous, customer_curated. Embedded only.
SELECT DISTINCT serialNumber FROM (
  (SELECT * FROM customer_curated_previous EXCEPT SELECT * FROM customer_curated)
  UNION ALL
  (SELECT * FROM customer_curated EXCEPT SELECT * FROM customer_curated_previous)
) changed

-- Incremental promotion: customer_curated without reading every trusted reading. A customer qualifies
-- when they have a trusted accelerometer reading: one who qualified before and whose trusted row is
-- unchanged still does (their readings only grow); anyone else qualifies when this run's added rows
-- hold a reading of theirs (for a changed customer those are all their readings). The same rows as
-- customer_trusted_to_curated. Inputs: customer_trusted, customer_curated_previous, changed_customers,
-- accelerometer_added. Embedded engine only.
SELECT c.customerName, c.email, c.phone, c.birthDay, c.serialNumber, c.registrationDate,
       c.lastUpdateDate, c.shareWithResearchAsOfDate, c.shareWithPublicAsOfDate,
       c.shareWithFriendsAsOfDate
FROM customer_trusted c
WHERE c.email IN (SELECT email FROM customer_curated_previous WHERE email NOT IN (SELECT email FROM changed_customers))
   OR c.email IN (SELECT a.user FROM accelerometer_added a)

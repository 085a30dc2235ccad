-- customer_curated: trusted customers that have at least one trusted accelerometer reading.
-- Inputs: customer_trusted, accelerometer_trusted. Shared by DuckDB and Spark SQL.
SELECT c.customerName, c.email, c.phone, c.birthDay, c.serialNumber, c.registrationDate,
       c.lastUpdateDate, c.shareWithResearchAsOfDate, c.shareWithPublicAsOfDate,
       c.shareWithFriendsAsOfDate
FROM customer_trusted c
WHERE c.email IN (SELECT a.user FROM accelerometer_trusted a)

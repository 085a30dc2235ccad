-- Athena / AWS Glue Data Catalog DDL of every zone table of a lakehouse in S3 (landing, quarantine,
-- trusted, curated), as Parquet. ${LAKEHOUSE} is the lakehouse location, e.g. s3://my-bucket/lakehouse:
-- `npx stedi s3 ddl --lakehouse s3://my-bucket/lakehouse` prints this file with it filled in. Each
-- table reads the Parquet objects directly under its prefix; the pipeline keeps its immutable files
-- in `_files/` and its state in `_state/`, which Athena and Glue skip (names starting with `_`).
-- A version becomes visible object by object after a run commits: a trusted or curated table is one
-- base object, data.parquet, and the deltas later runs appended (each whole); a base written again
-- replaces them, the deltas removed newest first; landing and quarantine tables grow by whole new parts.
-- Every column name is quoted with backticks: Athena's DDL reserves `user` and `timestamp`, and the
-- lineage columns start with `_`. The database is not `stedi`, which sql/<dataset>_landing.sql gives
-- the raw JSON landing tables of the same names.
CREATE DATABASE IF NOT EXISTS stedi_lakehouse;

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.customer_landing (
  `customerName` string,
  `email` string,
  `phone` string,
  `birthDay` string,
  `serialNumber` string,
  `registrationDate` bigint,
  `lastUpdateDate` bigint,
  `shareWithResearchAsOfDate` bigint,
  `shareWithPublicAsOfDate` bigint,
  `shareWithFriendsAsOfDate` bigint,
  `_run` bigint,
  `_file` string,
  `_line` bigint
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/landing/customer_landing/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.accelerometer_landing (
  `user` string,
  `timestamp` bigint,
  `x` double,
  `y` double,
  `z` double,
  `_run` bigint,
  `_file` string
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/landing/accelerometer_landing/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.step_trainer_landing (
  `sensorReadingTime` bigint,
  `serialNumber` string,
  `distanceFromObject` double,
  `_run` bigint,
  `_file` string
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/landing/step_trainer_landing/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.customer_quarantine (
  `_run` bigint,
  `_file` string,
  `_line` bigint,
  `reason` string,
  `raw` string
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/quarantine/customer_quarantine/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.accelerometer_quarantine (
  `_run` bigint,
  `_file` string,
  `_line` bigint,
  `reason` string,
  `raw` string
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/quarantine/accelerometer_quarantine/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.step_trainer_quarantine (
  `_run` bigint,
  `_file` string,
  `_line` bigint,
  `reason` string,
  `raw` string
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/quarantine/step_trainer_quarantine/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.customer_trusted (
  `customerName` string,
  `email` string,
  `phone` string,
  `birthDay` string,
  `serialNumber` string,
  `registrationDate` bigint,
  `lastUpdateDate` bigint,
  `shareWithResearchAsOfDate` bigint,
  `shareWithPublicAsOfDate` bigint,
  `shareWithFriendsAsOfDate` bigint
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/trusted/customer_trusted/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.accelerometer_trusted (
  `user` string,
  `timestamp` bigint,
  `x` double,
  `y` double,
  `z` double
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/trusted/accelerometer_trusted/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.step_trainer_trusted (
  `sensorReadingTime` bigint,
  `serialNumber` string,
  `distanceFromObject` double
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/trusted/step_trainer_trusted/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.customer_curated (
  `customerName` string,
  `email` string,
  `phone` string,
  `birthDay` string,
  `serialNumber` string,
  `registrationDate` bigint,
  `lastUpdateDate` bigint,
  `shareWithResearchAsOfDate` bigint,
  `shareWithPublicAsOfDate` bigint,
  `shareWithFriendsAsOfDate` bigint
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/curated/customer_curated/'
TBLPROPERTIES ('classification' = 'parquet');

CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse.machine_learning_curated (
  `sensorReadingTime` bigint,
  `serialNumber` string,
  `distanceFromObject` double,
  `user` string,
  `timestamp` bigint,
  `x` double,
  `y` double,
  `z` double
)
STORED AS PARQUET
LOCATION '${LAKEHOUSE}/curated/machine_learning_curated/'
TBLPROPERTIES ('classification' = 'parquet');

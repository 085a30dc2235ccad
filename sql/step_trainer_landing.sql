-- Athena / AWS Glue Data Catalog DDL of the raw step trainer landing zone, as the seed defined it:
-- newline-delimited JSON under step_trainer/landing/. Replace the bucket with yours.
CREATE EXTERNAL TABLE IF NOT EXISTS stedi.step_trainer_landing (
  sensorReadingTime bigint,
  serialNumber string,
  distanceFromObject double
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'FALSE', 'case.insensitive' = 'TRUE')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://stedi-lakehouse/step_trainer/landing/'
TBLPROPERTIES ('classification' = 'json');

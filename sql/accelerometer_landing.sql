-- Athena / AWS Glue Data Catalog DDL of the raw accelerometer landing zone, as the seed defined it:
-- newline-delimited JSON under accelerometer/landing/. Replace the bucket with yours.
CREATE EXTERNAL TABLE IF NOT EXISTS stedi.accelerometer_landing (
  user string,
  timestamp bigint,
  x double,
  y double,
  z double
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'FALSE', 'case.insensitive' = 'TRUE')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://stedi-lakehouse/accelerometer/landing/'
TBLPROPERTIES ('classification' = 'json');

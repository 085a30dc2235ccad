-- Athena / AWS Glue Data Catalog DDL of the raw customer landing zone, as the seed defined it:
-- newline-delimited JSON under customer/landing/. Replace the bucket with yours.
CREATE EXTERNAL TABLE IF NOT EXISTS stedi.customer_landing (
  customerName string,
  email string,
  phone string,
  birthDay string,
  serialNumber string,
  registrationDate bigint,
  lastUpdateDate bigint,
  shareWithResearchAsOfDate bigint,
  shareWithPublicAsOfDate bigint,
  shareWithFriendsAsOfDate bigint
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'FALSE', 'case.insensitive' = 'TRUE')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://stedi-lakehouse/customer/landing/'
TBLPROPERTIES ('classification' = 'json');

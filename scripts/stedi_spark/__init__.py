"""The five STEDI zone jobs on Apache Spark: the same input rules, sql/ files and lakehouse layout as the embedded pipeline."""

"""Glue job customer_trusted_to_curated: see scripts/README.md. Locally: python scripts/customer_trusted_to_curated.py --landing DIR --lakehouse DIR"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stedi_spark.entry import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main(['customer_trusted_to_curated']))

"""Glue job accelerometer_landing_to_trusted_zone: see scripts/README.md. Locally: python scripts/accelerometer_landing_to_trusted_zone.py --landing DIR --lakehouse DIR"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stedi_spark.entry import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main(['accelerometer_landing_to_trusted_zone']))

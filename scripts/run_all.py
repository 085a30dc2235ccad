"""The five zone jobs in order in one Spark session (what `stedi pipeline run --engine spark` starts)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stedi_spark.contracts import JOB_NAMES  # noqa: E402
from stedi_spark.entry import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main(JOB_NAMES))

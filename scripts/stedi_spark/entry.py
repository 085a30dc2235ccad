"""Command line and session for the Spark jobs: the same arguments locally and on AWS Glue.

Locally: `python scripts/<job>.py --landing DIR --lakehouse DIR [--master local[*]]`, or spark-submit.
On Glue (the awsglue module is present) the job parameters arrive as `--landing`, `--lakehouse`,
... beside Glue's own (`--JOB_NAME`, ...), and the job is wrapped in GlueContext and Job.
"""
import argparse
import json
import os
import sys

from .contracts import CONSENT_POLICIES, DATASETS, JOB_NAMES, ML_JOINS
from .errors import SparkJobError
from .s3 import DEFAULT_LEASE_SECONDS, endpoint, is_s3

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
SCRIPTS_DIR = os.path.dirname(PACKAGE_DIR)
DEFAULT_SQL_DIR = os.path.join(os.path.dirname(SCRIPTS_DIR), 'sql')


def log(message):
    print(f'stedi-spark: {message}', file=sys.stderr, flush=True)


def _bool(text):
    if text.lower() in ('1', 'true', 'yes'):
        return True
    if text.lower() in ('0', 'false', 'no'):
        return False
    raise argparse.ArgumentTypeError(f'expected true or false, not {text}')


def parse_args(argv, jobs):
    parser = argparse.ArgumentParser(description='STEDI zone jobs on Spark: ' + ', '.join(jobs), allow_abbrev=False)
    parser.add_argument('--landing', required=True, help='landing root (local folder or s3://...) holding customer/landing, accelerometer/landing, step_trainer/landing')
    parser.add_argument('--lakehouse', required=True,
                        help='lakehouse: a local folder, or a Hadoop URI such as s3://bucket/lakehouse (zone tables and _state/pipeline.sqlite)')
    parser.add_argument('--consent-policy', '--consent_policy', dest='consent_policy', default='seed', choices=CONSENT_POLICIES)
    parser.add_argument('--ml-join', '--ml_join', dest='ml_join', default='seed', choices=ML_JOINS)
    parser.add_argument('--full-refresh', '--full_refresh', dest='full_refresh', nargs='?', const=True, default=False, type=_bool,
                        help='re-read every landing file of the job\'s dataset')
    parser.add_argument('--keep-versions', '--keep_versions', dest='keep_versions', type=int, default=2)
    parser.add_argument('--wait-seconds', '--wait_seconds', dest='wait_seconds', type=float, default=0,
                        help='queue behind a run in progress for up to this long (default: fail at once)')
    parser.add_argument('--sql-dir', '--sql_dir', dest='sql_dir', default=DEFAULT_SQL_DIR, help='folder (or s3:// prefix) of the sql/ files')
    parser.add_argument('--master', default=os.environ.get('STEDI_SPARK_MASTER'),
                        help='Spark master when not on Glue (default local[*]; under spark-submit, its --master)')
    parser.add_argument('--driver-memory', dest='driver_memory', default=os.environ.get('STEDI_SPARK_DRIVER_MEMORY'),
                        help='driver memory when this process starts Spark (default 2g)')
    parser.add_argument('--lease-seconds', '--lease_seconds', dest='lease_seconds', type=float, default=DEFAULT_LEASE_SECONDS,
                        help='an s3:// lakehouse\'s lease: a crashed run\'s lakehouse is free again after this')
    parser.add_argument('--privacy-key-file', '--privacy_key_file', dest='privacy_key_file', default=None,
                        help='the privacy key\'s file (a path or s3:// URI) when the lakehouse holds tombstones and STEDI_PRIVACY_KEY is not set '
                             '(default: STEDI_PRIVACY_KEY_FILE, else var/privacy-key)')
    parser.add_argument('--json', action='store_true', help='print each job report as one JSON line on stdout')
    args, _glue_args = parser.parse_known_args(argv)
    if args.keep_versions < 0:
        parser.error('--keep-versions must be 0 or more')
    if '://' not in args.lakehouse:
        args.lakehouse = os.path.abspath(args.lakehouse)
    if '://' not in args.landing:
        args.landing = os.path.abspath(args.landing)
        if not os.path.isdir(args.landing):
            raise SparkJobError('PIPE_ERR_LANDING_MISSING', f'landing folder {args.landing} does not exist')
        if not any(os.path.isdir(os.path.join(args.landing, DATASETS[d]['landing_dir'])) for d in DATASETS):
            raise SparkJobError('PIPE_ERR_LANDING_EMPTY_LAYOUT',
                                f'landing folder {args.landing} has none of customer/landing, accelerometer/landing, step_trainer/landing: is --landing the right folder?')
    if os.path.abspath(args.landing) == os.path.abspath(args.lakehouse):
        raise SparkJobError('PIPE_ERR_BAD_OPTION', '--landing and --lakehouse must be different folders')
    return args


# hadoop-aws and the AWS SDK it was built against (Maven Central, through Ivy at the first S3 run)
S3A_PACKAGES = 'org.apache.hadoop:hadoop-aws:3.3.4,com.amazonaws:aws-java-sdk-bundle:1.12.262'


def s3a_settings():
    """Spark settings for s3:// through S3A outside Glue (Glue has its own): the AWS environment decides."""
    url = endpoint()
    settings = {
        'spark.jars.packages': S3A_PACKAGES,
        # s3:// as users and Glue write it, served by S3A here
        'spark.hadoop.fs.s3.impl': 'org.apache.hadoop.fs.s3a.S3AFileSystem',
        'spark.hadoop.fs.s3a.endpoint.region': os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1',
        # without it the first write retried DeleteObjects of directory markers for 15 minutes (versitygw)
        'spark.hadoop.fs.s3a.directory.marker.retention': 'keep',
        'spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version': '2',
    }
    if url:
        settings.update({
            'spark.hadoop.fs.s3a.endpoint': url,
            'spark.hadoop.fs.s3a.path.style.access': 'true',
            'spark.hadoop.fs.s3a.connection.ssl.enabled': 'true' if url.startswith('https://') else 'false',
        })
    return settings


def _glue():
    import importlib.util
    return importlib.util.find_spec('awsglue') is not None


def create_session(args):
    """(spark, finish): a Glue job when awsglue is present, else a local session on args.master."""
    if _glue():
        from awsglue.context import GlueContext
        from awsglue.job import Job
        from awsglue.utils import getResolvedOptions
        from pyspark.context import SparkContext
        glue_args = getResolvedOptions(sys.argv, ['JOB_NAME'])
        glue_context = GlueContext(SparkContext.getOrCreate())
        job = Job(glue_context)
        job.init(glue_args['JOB_NAME'], glue_args)
        return glue_context.spark_session, job.commit
    # the Python workers import this package: they find it through PYTHONPATH, and use this interpreter
    os.environ['PYTHONPATH'] = os.pathsep.join(p for p in [SCRIPTS_DIR, os.environ.get('PYTHONPATH')] if p)
    os.environ.setdefault('PYSPARK_PYTHON', sys.executable)
    os.environ.setdefault('SPARK_LOCAL_IP', '127.0.0.1')
    from pyspark.sql import SparkSession
    builder = SparkSession.builder.appName('stedi-zone-jobs')
    if 'PYSPARK_GATEWAY_PORT' in os.environ:
        # under spark-submit the JVM is up already: its --master and options decide
        if args.master is not None:
            builder = builder.master(args.master)
    else:
        builder = (builder.master(args.master or 'local[*]')
                   .config('spark.driver.memory', args.driver_memory or '2g')
                   .config('spark.driver.extraJavaOptions', f'-Dlog4j2.configurationFile=file:{os.path.join(PACKAGE_DIR, "log4j2.properties")}')
                   .config('spark.driver.host', '127.0.0.1')
                   .config('spark.driver.bindAddress', '127.0.0.1')
                   .config('spark.ui.enabled', 'false'))
        if is_s3(args.landing) or is_s3(args.lakehouse):
            for key, value in s3a_settings().items():
                builder = builder.config(key, value)
    spark = (builder
             .config('spark.ui.showConsoleProgress', 'false')
             .config('spark.sql.session.timeZone', 'UTC')
             .config('spark.sql.shuffle.partitions', '8')
             .config('spark.sql.execution.arrow.maxRecordsPerBatch', '64')
             .config('spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs', 'false')
             .config('spark.hadoop.parquet.enable.summary-metadata', 'false')
             .getOrCreate())
    spark.sparkContext.setLogLevel('ERROR')
    if 'PYSPARK_GATEWAY_PORT' in os.environ and os.path.isdir(PACKAGE_DIR):
        # spark-submit started the workers' environment before us: ship the package to them
        import tempfile
        zip_path = os.path.join(tempfile.mkdtemp(prefix='stedi-spark-'), 'stedi_spark.zip')
        write_package_zip(zip_path)
        spark.sparkContext.addPyFile(zip_path)
    return spark, spark.stop


def write_package_zip(path):
    """This package as a zip (Glue's --extra-py-files; spark-submit's workers). Returns its members."""
    import zipfile
    members = sorted(n for n in os.listdir(PACKAGE_DIR) if n.endswith('.py') or n.endswith('.properties'))
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        for name in members:
            z.write(os.path.join(PACKAGE_DIR, name), f'stedi_spark/{name}')
    return members


def main(jobs, argv=None):
    """Runs the named jobs in order in one session; exits with the embedded pipeline's codes."""
    argv = sys.argv[1:] if argv is None else argv
    spark = None
    try:
        args = parse_args(argv, jobs)
        spark, finish = create_session(args)
        from .job import run_job
        for name in jobs:
            if name not in JOB_NAMES:
                raise SparkJobError('PIPE_ERR_BAD_OPTION', f'no job named {name}')
            report = run_job(spark, name, args, log)
            if args.json:
                print(json.dumps(report), flush=True)
            log(f'{name}: done in {report["durationMs"]} ms')
        finish()
        return 0
    except SparkJobError as err:
        log(f'{err.code}: {err}')
        return err.exit_code
    except Exception as err:  # noqa: BLE001 - one line on stderr, the trace under it
        import traceback
        traceback.print_exc()
        # the last line of a Spark error is its cause (a worker's exception comes after its trace)
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        log(f'PIPE_ERR_ENGINE: {type(err).__name__}: {lines[-1] if lines else ""}')
        return 1

"""The contracts the TypeScript side keeps in contracts/, as the Spark jobs need them.

test/contracts/spark-contracts.test.ts compares this module's `as_json()` with contracts/*.ts field by
field, so the two cannot drift apart.
"""

LAKEHOUSE_FORMAT_VERSION = 1
STATE_DIR = '_state'
STATE_DB = '_state/pipeline.sqlite'
FILES_DIR = '_files'
DATA_FILE = 'data.parquet'

# Customer dates (epoch ms) must lie in [min, max): 2015-01-01 and 2100-01-01, fixed so that a run's
# result never depends on when it runs (contracts/datasets.ts CUSTOMER_DATE_RANGE_MS).
CUSTOMER_DATE_RANGE_MS = (1420070400000, 4102444800000)

# (name, kind, required, non_empty) in the order the checks run; ranges: integer fields' [min, max)
DATASETS = {
    'customer': {
        'landing_dir': 'customer/landing',
        'fields': [
            ('customerName', 'string', False, False),
            ('email', 'string', True, True),
            ('phone', 'string', False, False),
            ('birthDay', 'string', False, False),
            ('serialNumber', 'string', True, False),
            ('registrationDate', 'integer', False, False),
            ('lastUpdateDate', 'integer', False, False),
            ('shareWithResearchAsOfDate', 'integer', False, False),
            ('shareWithPublicAsOfDate', 'integer', False, False),
            ('shareWithFriendsAsOfDate', 'integer', False, False),
        ],
        'ranges': {name: CUSTOMER_DATE_RANGE_MS for name in (
            'registrationDate', 'lastUpdateDate', 'shareWithResearchAsOfDate', 'shareWithPublicAsOfDate', 'shareWithFriendsAsOfDate')},
    },
    'accelerometer': {
        'landing_dir': 'accelerometer/landing',
        'fields': [
            ('user', 'string', True, False),
            ('timestamp', 'integer', True, False),
            ('x', 'number', True, False),
            ('y', 'number', True, False),
            ('z', 'number', True, False),
        ],
        'ranges': {},
    },
    'step_trainer': {
        'landing_dir': 'step_trainer/landing',
        'fields': [
            ('sensorReadingTime', 'integer', True, False),
            ('serialNumber', 'string', True, False),
            ('distanceFromObject', 'number', True, False),
        ],
        'ranges': {},
    },
}
DATASET_NAMES = ['customer', 'accelerometer', 'step_trainer']

SQL_TYPES = {'string': 'VARCHAR', 'integer': 'BIGINT', 'number': 'DOUBLE'}

# table -> (zone, dataset); landing and quarantine tables grow by appended parts
TABLES = {
    'customer_landing': ('landing', 'customer'),
    'accelerometer_landing': ('landing', 'accelerometer'),
    'step_trainer_landing': ('landing', 'step_trainer'),
    'customer_quarantine': ('quarantine', 'customer'),
    'accelerometer_quarantine': ('quarantine', 'accelerometer'),
    'step_trainer_quarantine': ('quarantine', 'step_trainer'),
    'customer_trusted': ('trusted', 'customer'),
    'accelerometer_trusted': ('trusted', 'accelerometer'),
    'step_trainer_trusted': ('trusted', 'step_trainer'),
    'customer_curated': ('curated', 'customer'),
    'machine_learning_curated': ('curated', None),
}
TABLE_NAMES = list(TABLES)

QUARANTINE_COLUMNS = [('_run', 'BIGINT'), ('_file', 'VARCHAR'), ('_line', 'BIGINT'), ('reason', 'VARCHAR'), ('raw', 'VARCHAR')]

CONSENT_POLICIES = ['seed', 'strict']
ML_JOINS = ['seed', 'same-customer']

# name, output, inputs, and the landing dataset the job reads (the seed's three landing jobs)
JOBS = [
    {'name': 'customer_landing_to_trusted', 'output': 'customer_trusted', 'inputs': ['customer_landing'], 'ingests': 'customer'},
    {'name': 'accelerometer_landing_to_trusted_zone', 'output': 'accelerometer_trusted',
     'inputs': ['accelerometer_landing', 'customer_trusted'], 'ingests': 'accelerometer'},
    {'name': 'customer_trusted_to_curated', 'output': 'customer_curated', 'inputs': ['customer_trusted', 'accelerometer_trusted'], 'ingests': None},
    {'name': 'trainer_landing_to_trusted', 'output': 'step_trainer_trusted', 'inputs': ['step_trainer_landing', 'customer_curated'], 'ingests': 'step_trainer'},
    {'name': 'trainer_trusted_to_curated', 'output': 'machine_learning_curated',
     'inputs': ['step_trainer_trusted', 'accelerometer_trusted', 'customer_curated'], 'ingests': None},
]
JOB_NAMES = [j['name'] for j in JOBS]
ACCOUNTING_QUERIES = {'customer': 'accounting_customer', 'accelerometer': 'accounting_accelerometer', 'step_trainer': 'accounting_step_trainer'}
CROSS_CUSTOMER_QUERY = 'cross_customer_pairs'


def is_append_only(table):
    return TABLES[table][0] in ('landing', 'quarantine')


def table_dir(table):
    return f'{TABLES[table][0]}/{table}'


def landing_table_of(dataset):
    return f'{dataset}_landing'


def quarantine_table_of(dataset):
    return f'{dataset}_quarantine'


def lineage_columns(dataset):
    if dataset == 'customer':
        return [('_run', 'BIGINT'), ('_file', 'VARCHAR'), ('_line', 'BIGINT')]
    return [('_run', 'BIGINT'), ('_file', 'VARCHAR')]


def seed_columns(dataset):
    return [(name, SQL_TYPES[kind]) for name, kind, _, _ in DATASETS[dataset]['fields']]


def table_columns(table):
    """Columns of every table (the empty version a table has before data reaches it)."""
    zone, dataset = TABLES[table]
    if zone == 'landing':
        return seed_columns(dataset) + lineage_columns(dataset)
    if zone == 'quarantine':
        return list(QUARANTINE_COLUMNS)
    if table == 'machine_learning_curated':
        return seed_columns('step_trainer') + seed_columns('accelerometer')
    return seed_columns(dataset)


def _field_json(spec, name, kind, required, non_empty):
    out = {'name': name, 'kind': kind, 'required': required, 'nonEmpty': non_empty}
    if name in spec['ranges']:
        low, high = spec['ranges'][name]
        out['range'] = {'min': low, 'max': high}
    return out


def as_json():
    return {
        'formatVersion': LAKEHOUSE_FORMAT_VERSION,
        'stateDb': STATE_DB,
        'datasets': {d: {'landingDir': s['landing_dir'], 'fields': [_field_json(s, *f) for f in s['fields']]} for d, s in DATASETS.items()},
        'tables': {t: {'dir': table_dir(t), 'appendOnly': is_append_only(t), 'columns': table_columns(t)} for t in TABLE_NAMES},
        'jobs': [{'name': j['name'], 'output': j['output'], 'inputs': j['inputs']} for j in JOBS],
        'accountingQueries': ACCOUNTING_QUERIES,
        'crossCustomerQuery': CROSS_CUSTOMER_QUERY,
        'consentPolicies': CONSENT_POLICIES,
        'mlJoins': ML_JOINS,
    }


if __name__ == '__main__':
    import json
    print(json.dumps(as_json()))

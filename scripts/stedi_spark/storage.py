"""Where table files live and how a version becomes visible, as pipeline/storage.ts does it.

Each table's files are immutable, in `<zone>/<table>/_files/`; the state names those of the current
version. The visible layout is hard links made after the state commits: `data.parquet` for a table
rebuilt each run (swapped by one rename), `part-r<run>.parquet` for append-only tables.
`reconcile` makes the visible layout match the state and removes files no retained version names.
"""
import os

from .contracts import DATA_FILE, FILES_DIR, TABLE_NAMES, is_append_only, table_dir


def new_table_file(table, run_id, version):
    name = f'part-r{run_id:06d}.parquet' if is_append_only(table) else f'v{version:06d}-r{run_id:06d}.parquet'
    return f'{table_dir(table)}/{FILES_DIR}/{name}'


def prepare_table_dirs(lakehouse):
    for table in TABLE_NAMES:
        os.makedirs(os.path.join(lakehouse, table_dir(table), FILES_DIR), exist_ok=True)


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_replace(canonical, visible):
    tmp = visible + '.tmp'
    if os.path.lexists(tmp):
        os.remove(tmp)
    os.link(canonical, tmp)
    os.replace(tmp, visible)


def _visible_name(table, file):
    return os.path.basename(file) if is_append_only(table) else DATA_FILE


def reconcile(lakehouse, current, retained):
    for table in TABLE_NAMES:
        directory = os.path.join(lakehouse, table_dir(table))
        files_dir = os.path.join(directory, FILES_DIR)
        os.makedirs(files_dir, exist_ok=True)
        desired = {_visible_name(table, f): os.path.join(lakehouse, f) for f in current.get(table, {}).get('files', [])}
        for name, canonical in desired.items():
            visible = os.path.join(directory, name)
            a = os.stat(canonical)
            b = os.stat(visible) if os.path.exists(visible) else None
            if b is None or (a.st_ino, a.st_dev) != (b.st_ino, b.st_dev):
                _link_replace(canonical, visible)
        for name in os.listdir(directory):
            if name == FILES_DIR or name in desired:
                continue
            if name.endswith('.parquet') or name.endswith('.tmp'):
                os.remove(os.path.join(directory, name))
        for name in os.listdir(files_dir):
            if f'{table_dir(table)}/{FILES_DIR}/{name}' not in retained:
                os.remove(os.path.join(files_dir, name))
        fsync_path(directory)

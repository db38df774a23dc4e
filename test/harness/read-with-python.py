"""Reads Parquet files back with pyarrow and Polars and prints what each sees, as JSON.

    read-with-python.py compacted FILE           one compacted day file, the seed's one-line reads
    read-with-python.py open FILE...             an open day's parts, with the README's one-liners

Values are printed as JSON: timestamps as ISO-8601 text in UTC with milliseconds, bytes as hex.
"""
import datetime
import json
import sys

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


def plain(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.hex()
    return value


def describe(rows, schema):
    return {"schema": schema, "rows": [{key: plain(value) for key, value in row.items()} for row in rows]}


def main():
    mode, files = sys.argv[1], sys.argv[2:]
    if mode == "compacted":
        table = pq.read_table(files[0])
        frame = pl.read_parquet(files[0])
    else:
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
        frame = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    table = table.sort_by([("kafka_partition", "ascending"), ("kafka_offset", "ascending")])
    frame = frame.sort(["kafka_partition", "kafka_offset"])
    print(json.dumps({
        "pyarrow": describe(table.to_pylist(), {f.name: str(f.type) for f in table.schema}),
        "polars": describe(frame.to_dicts(), {name: str(dtype) for name, dtype in frame.schema.items()}),
    }))


main()

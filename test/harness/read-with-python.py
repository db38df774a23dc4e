"""Reads Parquet files back with pyarrow and Polars and prints what each sees, as JSON.

    read-with-python.py compacted FILE...        a closed day's compacted files, the one-line reads
    read-with-python.py open FILE...             an open day's parts, with the README's one-liners
    read-with-python.py topic FILE...            a whole topic across days, as one dataset: pyarrow
                                                 datasets and Polars scan_parquet with no schema
                                                 merging (the files must agree)
    read-with-python.py s3 ENDPOINT BUCKET PREFIX
                                                 a lake in an S3-compatible bucket (credentials from
                                                 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): its keys,
                                                 and every data file (dead letters excluded) read
                                                 from the bucket by pyarrow's S3FileSystem and Polars

Values are printed as JSON: timestamps as ISO-8601 text in UTC with milliseconds, bytes as hex.
"""
import datetime
import json
import sys

import os

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
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


def read_bucket(endpoint, bucket, prefix):
    """Keys below the prefix, and the data files as pyarrow and Polars read them from the bucket."""
    key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    scheme, host = endpoint.split("://", 1)
    s3 = pafs.S3FileSystem(access_key=key, secret_key=secret, endpoint_override=host, scheme=scheme, region="us-east-1")
    infos = s3.get_file_info(pafs.FileSelector(f"{bucket}/{prefix}", recursive=True))
    keys = sorted(info.path[len(bucket) + len(prefix) + 2:] for info in infos if info.type == pafs.FileType.File)
    data = [f"{bucket}/{prefix}/{k}" for k in keys if k.endswith(".parquet") and "_dead_letter" not in k]
    table = ds.dataset(data, filesystem=s3, format="parquet").to_table()
    options = {"aws_endpoint_url": endpoint, "aws_allow_http": "true", "aws_access_key_id": key, "aws_secret_access_key": secret, "aws_region": "us-east-1"}
    frame = pl.concat([pl.scan_parquet(f"s3://{path}", storage_options=options) for path in data], how="diagonal_relaxed").collect()
    return keys, table, frame


def main():
    mode, files = sys.argv[1], sys.argv[2:]
    keys = None
    if mode == "s3":
        keys, table, frame = read_bucket(files[0], files[1], files[2].strip("/"))
    elif mode == "compacted":
        table = pq.read_table(files[0] if len(files) == 1 else files)
        frame = pl.read_parquet(files[0] if len(files) == 1 else files)
    elif mode == "topic":
        table = ds.dataset(files, format="parquet").to_table()
        frame = pl.scan_parquet(files).collect()
    else:
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
        frame = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    table = table.sort_by([("kafka_partition", "ascending"), ("kafka_offset", "ascending")])
    frame = frame.sort(["kafka_partition", "kafka_offset"])
    print(json.dumps({
        **({} if keys is None else {"keys": keys}),
        "pyarrow": describe(table.to_pylist(), {f.name: str(f.type) for f in table.schema}),
        "polars": describe(frame.to_dicts(), {name: str(dtype) for name, dtype in frame.schema.items()}),
    }))


main()

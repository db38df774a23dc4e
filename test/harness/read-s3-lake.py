"""Reads a lake in an S3-compatible bucket back with pyarrow and Polars, as users of the lake do.

    read-s3-lake.py ENDPOINT BUCKET PREFIX        (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)

Prints JSON: the keys below the prefix, and per reader the data rows (dead letters excluded) sorted
by topic, partition and offset, with the schema each reader sees. Timestamps are ISO-8601 text in UTC.
"""
import datetime
import json
import os
import sys

import polars as pl
import pyarrow.dataset as ds
import pyarrow.fs as pafs


def plain(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.hex()
    return value


def main():
    endpoint, bucket, prefix = sys.argv[1], sys.argv[2], sys.argv[3].strip("/")
    key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    scheme, host = endpoint.split("://", 1)
    s3 = pafs.S3FileSystem(access_key=key, secret_key=secret, endpoint_override=host, scheme=scheme, region="us-east-1")
    infos = s3.get_file_info(pafs.FileSelector(f"{bucket}/{prefix}", recursive=True))
    keys = sorted(info.path[len(bucket) + len(prefix) + 2:] for info in infos if info.type == pafs.FileType.File)
    data = [f"{bucket}/{prefix}/{k}" for k in keys if k.endswith(".parquet") and "_dead_letter" not in k]
    order = [("kafka_topic", "ascending"), ("kafka_partition", "ascending"), ("kafka_offset", "ascending")]
    table = ds.dataset(data, filesystem=s3, format="parquet").to_table().sort_by(order)
    options = {"aws_endpoint_url": endpoint, "aws_allow_http": "true", "aws_access_key_id": key, "aws_secret_access_key": secret, "aws_region": "us-east-1"}
    frame = pl.concat([pl.scan_parquet(f"s3://{path}", storage_options=options) for path in data], how="diagonal_relaxed").collect()
    frame = frame.sort(["kafka_topic", "kafka_partition", "kafka_offset"])
    print(json.dumps({
        "keys": keys,
        "pyarrow": {"schema": {f.name: str(f.type) for f in table.schema}, "rows": [{k: plain(v) for k, v in row.items()} for row in table.to_pylist()]},
        "polars": {"schema": {name: str(dtype) for name, dtype in frame.schema.items()}, "rows": [{k: plain(v) for k, v in row.items()} for row in frame.to_dicts()]},
    }))


main()

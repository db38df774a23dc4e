"""Reference point for `npm run bench:writers`: how big would pyarrow make the same rows?

Reads a file written by encodeParquet with pyarrow, checks that pyarrow and polars both read it
(row count, column types, the UTC timestamp), re-writes the same table with pyarrow's default
settings plus zstd, and prints bytes/row for both files.

    python3 test/bench/pyarrow-reference.py path/to/ours.parquet
"""
import os
import sys
import tempfile

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


def main(ours: str) -> None:
    table = pq.read_table(ours)
    rows = table.num_rows
    footer = pq.read_metadata(ours)

    timestamp = table.schema.field("kafka_timestamp").type
    assert pa.types.is_timestamp(timestamp) and timestamp.unit == "ms" and timestamp.tz == "UTC", timestamp

    frame = pl.read_parquet(ours)
    assert frame.height == rows, (frame.height, rows)
    assert str(frame.schema["kafka_timestamp"]) == "Datetime(time_unit='ms', time_zone='UTC')", frame.schema
    assert frame["kafka_offset"].dtype == pl.Int64 and frame["bid"].dtype == pl.Float64

    with tempfile.TemporaryDirectory() as directory:
        reference = os.path.join(directory, "pyarrow-zstd.parquet")
        # pyarrow's defaults (dictionary on, 1 Mi-row row groups, zstd level 1) with zstd chosen.
        pq.write_table(table, reference, compression="zstd")
        ours_bytes = os.path.getsize(ours)
        reference_bytes = os.path.getsize(reference)
        reference_groups = pq.read_metadata(reference).num_row_groups

    print(f"pyarrow {pa.__version__} and polars {pl.__version__} read our file: {rows} rows, "
          f"kafka_timestamp {timestamp}, {footer.num_row_groups} row group(s), created by {footer.created_by}")
    print(f"| file | bytes | bytes/row |")
    print(f"|---|---:|---:|")
    print(f"| ours (parquet-wasm, zstd) | {ours_bytes:,} | {ours_bytes / rows:.2f} |")
    print(f"| pyarrow write_table(compression='zstd'), {reference_groups} row group(s) "
          f"| {reference_bytes:,} | {reference_bytes / rows:.2f} |")
    print(f"ours / pyarrow = {ours_bytes / reference_bytes:.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: pyarrow-reference.py OURS.parquet")
    main(sys.argv[1])

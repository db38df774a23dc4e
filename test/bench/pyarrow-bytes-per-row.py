"""Bytes per row of the collector's output against pyarrow writing the same rows with zstd.

Used once per `npm run bench` on the first collector run's output (dev-only check):

    python3 test/bench/pyarrow-bytes-per-row.py FILE.parquet...

Two references, printed as one JSON object on stdout:
- per_file: each of our files re-written by pyarrow on its own (same rows per file as ours, so the
  file count and footers are equal): the like-for-like figure;
- one_file: all rows in a single pyarrow file (default 1 Mi-row row groups): what a bulk writer
  with no batching limit gets.
Both use pyarrow's defaults (dictionary encoding on, zstd level 1) with compression="zstd", as
pyarrow-reference.py does.
"""
import json
import os
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq


def main(files: list[str]) -> None:
    ours_bytes = 0
    per_file_bytes = 0
    rows = 0
    row_groups = 0
    tables = []
    with tempfile.TemporaryDirectory() as directory:
        for index, file in enumerate(files):
            table = pq.read_table(file)
            tables.append(table)
            rows += table.num_rows
            row_groups += pq.read_metadata(file).num_row_groups
            ours_bytes += os.path.getsize(file)
            reference = os.path.join(directory, f"{index}.parquet")
            pq.write_table(table, reference, compression="zstd")
            per_file_bytes += os.path.getsize(reference)
        one_file = os.path.join(directory, "all.parquet")
        pq.write_table(pa.concat_tables(tables, promote_options="default"), one_file, compression="zstd")
        one_file_bytes = os.path.getsize(one_file)
    print(json.dumps({
        "pyarrow": pa.__version__,
        "files": len(files),
        "rows": rows,
        "our_row_groups": row_groups,
        "ours_bytes": ours_bytes,
        "ours_bytes_per_row": ours_bytes / rows,
        "per_file_bytes": per_file_bytes,
        "per_file_bytes_per_row": per_file_bytes / rows,
        "one_file_bytes": one_file_bytes,
        "one_file_bytes_per_row": one_file_bytes / rows,
        "ours_over_per_file": ours_bytes / per_file_bytes,
        "ours_over_one_file": ours_bytes / one_file_bytes,
    }))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: pyarrow-bytes-per-row.py FILE.parquet...")
    main(sys.argv[1:])

"""The Python peer of `npm run bench`: the seed's design, written here from its README.

What the seed README describes, and this program does:
- confluent-kafka consumer, one `poll()` per message, "aggressive" settings (a large prefetch queue);
- each value decoded as MessagePack first, JSON when that fails;
- flattening: the `data` dict's fields become top-level columns, other dicts are flattened with `_`
  between the keys (`metadata_exchange`), lists become JSON strings;
- Kafka metadata columns kafka_topic, kafka_partition, kafka_offset, kafka_timestamp (ms since the
  epoch) and kafka_key;
- rows gathered per topic and UTC day, turned into a Polars DataFrame every BATCH_SIZE messages, the
  day's frames written at the end as OUTPUT_DIR/YYYY/MM/DD/<topic>.parquet with zstd;
- one-shot: reads each partition up to the end offset it had at the start, commits, exits;
- topics in parallel, MAX_WORKERS threads (one topic: one thread).
SKIP_EXISTING_CHECK=false appends to an existing day file (read, concatenate, rewrite), as the seed's
incremental mode does; the default overwrites.

It is the yardstick for the collector's speed, not a second product: no retries, no dead letters.

    BOOTSTRAP_SERVERS=... TOPICS=a,b GROUP_ID=g OUTPUT_DIR=/tmp/out .cache/pyenv/bin/python test/bench/python-peer.py

Prints one JSON line: {"messages", "rows", "decode_errors", "files", "seconds"}.
"""
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import msgpack
import polars as pl
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

POLL_TIMEOUT_S = 1.0
# The end of a partition is reached when nothing arrives for this long although offsets remain:
# a broken run must fail, not hang.
STALL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Settings:
    bootstrap_servers: str
    topics: list[str]
    group_id: str
    output_dir: str
    batch_size: int
    max_workers: int
    max_messages: int | None
    skip_existing_check: bool


@dataclass
class TopicResult:
    messages: int = 0
    rows: int = 0
    decode_errors: int = 0
    files: list[str] = field(default_factory=list)


def settings_from_env(env: dict[str, str]) -> Settings:
    max_messages = env.get("MAX_MESSAGES", "")
    return Settings(
        bootstrap_servers=env["BOOTSTRAP_SERVERS"],
        topics=[name.strip() for name in env["TOPICS"].split(",") if name.strip()],
        group_id=env.get("GROUP_ID", "redpanda-parquet-collector"),
        output_dir=env["OUTPUT_DIR"],
        batch_size=int(env.get("BATCH_SIZE", "100000")),
        max_workers=int(env.get("MAX_WORKERS", "4")),
        max_messages=int(max_messages) if max_messages else None,
        skip_existing_check=env.get("SKIP_EXISTING_CHECK", "true").lower() != "false",
    )


def consumer_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.bootstrap_servers,
        "group.id": settings.group_id,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        # The seed's large prefetch queue (1 GiB): speed bought with memory.
        "queued.max.messages.kbytes": 1024 * 1024,
        "queued.min.messages": 1_000_000,
        "fetch.max.bytes": 64 * 1024 * 1024,
        "max.partition.fetch.bytes": 16 * 1024 * 1024,
    }


def decode(value: bytes | None) -> Any:
    """MessagePack first, JSON second; None when neither reads it."""
    if value is None:
        return None
    try:
        return msgpack.unpackb(value, raw=False)
    except Exception:
        pass
    try:
        return json.loads(value)
    except ValueError:
        return None


def flatten_into(row: dict[str, Any], prefix: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten_into(row, f"{prefix}_{key}" if prefix else str(key), inner)
    elif isinstance(value, list):
        row[prefix] = json.dumps(value)
    else:
        row[prefix] = value


def flatten(payload: Any) -> dict[str, Any]:
    """The seed's rule: `data`'s fields lifted to the top, other dicts joined with `_`."""
    row: dict[str, Any] = {}
    if not isinstance(payload, dict):
        row["value"] = json.dumps(payload) if isinstance(payload, list) else payload
        return row
    for key, value in payload.items():
        flatten_into(row, "" if key == "data" and isinstance(value, dict) else str(key), value)
    return row


def day_of(timestamp_ms: int) -> tuple[str, str, str]:
    day = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)
    return f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"


def end_offsets(consumer: Consumer, topic: str) -> dict[int, int]:
    metadata = consumer.list_topics(topic, timeout=30).topics[topic]
    if metadata.error is not None:
        raise KafkaException(metadata.error)
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in metadata.partitions}


def start_offsets(consumer: Consumer, topic: str, ends: dict[int, int]) -> dict[int, int]:
    """Where this group goes on from: its committed offsets, else the beginning (low watermark)."""
    committed = consumer.committed([TopicPartition(topic, p) for p in ends], timeout=30)
    starts = {}
    for tp in committed:
        starts[tp.partition] = tp.offset if tp.offset >= 0 else consumer.get_watermark_offsets(tp, timeout=30)[0]
    return starts


class DayBuffers:
    """Rows per UTC day; every batch_size rows of a day become one DataFrame."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.rows: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.frames: dict[tuple[str, str, str], list[pl.DataFrame]] = {}

    def add(self, day: tuple[str, str, str], row: dict[str, Any]) -> None:
        rows = self.rows.setdefault(day, [])
        rows.append(row)
        if len(rows) >= self.batch_size:
            self.seal(day)

    def seal(self, day: tuple[str, str, str]) -> None:
        rows = self.rows.pop(day, [])
        if rows:
            # Polars' default schema inference (the first 100 rows), as a plain `pl.DataFrame(rows)`.
            self.frames.setdefault(day, []).append(pl.DataFrame(rows))

    def days(self) -> dict[tuple[str, str, str], pl.DataFrame]:
        for day in list(self.rows):
            self.seal(day)
        return {day: pl.concat(frames, how="diagonal_relaxed") for day, frames in self.frames.items()}


def write_day(settings: Settings, topic: str, day: tuple[str, str, str], frame: pl.DataFrame) -> str:
    directory = os.path.join(settings.output_dir, *day)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{topic}.parquet")
    if not settings.skip_existing_check and os.path.exists(path):
        frame = pl.concat([pl.read_parquet(path), frame], how="diagonal_relaxed")
    temporary = f"{path}.tmp"
    frame.write_parquet(temporary, compression="zstd")
    os.replace(temporary, path)
    return path


def row_of(message: Any) -> dict[str, Any] | None:
    payload = decode(message.value())
    if payload is None:
        return None
    row = flatten(payload)
    key = message.key()
    row["kafka_topic"] = message.topic()
    row["kafka_partition"] = message.partition()
    row["kafka_offset"] = message.offset()
    row["kafka_timestamp"] = message.timestamp()[1]
    row["kafka_key"] = key.decode("utf-8", "replace") if key is not None else None
    return row


def collect_topic(settings: Settings, topic: str) -> TopicResult:
    result = TopicResult()
    consumer = Consumer(consumer_config(settings))
    try:
        ends = end_offsets(consumer, topic)
        starts = start_offsets(consumer, topic, ends)
        # The last offset to read per partition; the run stops when every one is reached.
        remaining = {p: end for p, end in ends.items() if end > starts[p]}
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in remaining])
        buffers = DayBuffers(settings.batch_size)
        last_message = time.monotonic()
        while remaining and (settings.max_messages is None or result.messages < settings.max_messages):
            message = consumer.poll(POLL_TIMEOUT_S)
            if message is None:
                if time.monotonic() - last_message > STALL_TIMEOUT_S:
                    raise RuntimeError(f"{topic}: no message for {STALL_TIMEOUT_S} s, still to read: {remaining}")
                continue
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(message.error())
            last_message = time.monotonic()
            result.messages += 1
            partition, offset = message.partition(), message.offset()
            if offset + 1 >= remaining.get(partition, 0):
                remaining.pop(partition, None)
            row = row_of(message)
            if row is None:
                result.decode_errors += 1
                continue
            buffers.add(day_of(row["kafka_timestamp"]), row)
            result.rows += 1
        for day, frame in sorted(buffers.days().items()):
            result.files.append(write_day(settings, topic, day, frame))
        positions = [tp for tp in consumer.position(consumer.assignment()) if tp.offset >= 0]
        if positions:
            consumer.commit(offsets=positions, asynchronous=False)
    finally:
        consumer.close()
    return result


def main() -> None:
    settings = settings_from_env(dict(os.environ))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=settings.max_workers) as pool:
        results = list(pool.map(lambda topic: collect_topic(settings, topic), settings.topics))
    print(json.dumps({
        "messages": sum(r.messages for r in results),
        "rows": sum(r.rows for r in results),
        "decode_errors": sum(r.decode_errors for r in results),
        "files": [path for r in results for path in r.files],
        "seconds": time.monotonic() - started,
    }))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        print(f"python-peer: {error!r}", file=sys.stderr)
        sys.exit(1)

#!/usr/bin/python3
"""The baseline `lims consume` is compared with: a careful Python consumer.

confluent-kafka, json, sqlite3 executemany in WAL mode, one transaction and one offset commit
per batch of up to 500 records; the same stale-event guard, the same SQLite layout. Prints the
same summary line as `lims consume`, so bench/consume.sh reads both the same way.

  baseline_consumer.py BROKERS GROUP SQLITE_PATH
"""
import datetime
import json
import sqlite3
import sys
import time

from confluent_kafka import Consumer, KafkaError

PLANTS = ("potato", "tomato", "pepper")


def micros(text):
    if text is None:
        return None
    t = datetime.datetime.fromisoformat(text)
    if t.tzinfo is not None:
        t = t.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return (t - datetime.datetime(1970, 1, 1)) // datetime.timedelta(microseconds=1)


def open_store(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    for plant in PLANTS:
        db.execute(f"""CREATE TABLE IF NOT EXISTS imagecolplant{plant} (id INTEGER PRIMARY KEY,
            camera_id INTEGER NOT NULL, data BLOB NOT NULL, latitude REAL NOT NULL,
            longitude REAL NOT NULL, disease TEXT, percentage REAL, created_at INTEGER NOT NULL,
            updated_at INTEGER, is_active INTEGER NOT NULL, is_deleted INTEGER NOT NULL)""")
    return db


def upsert_sql(plant):
    t = f"imagecolplant{plant}"
    return (f"INSERT INTO {t} VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
            "camera_id=excluded.camera_id, data=excluded.data, latitude=excluded.latitude, "
            "longitude=excluded.longitude, disease=excluded.disease, "
            "percentage=excluded.percentage, created_at=excluded.created_at, "
            "updated_at=excluded.updated_at, is_active=excluded.is_active, "
            "is_deleted=excluded.is_deleted WHERE COALESCE(excluded.updated_at, "
            f"excluded.created_at) >= COALESCE({t}.updated_at, {t}.created_at)")


def row(value):
    r = json.loads(value)
    lat, lon = r["gps_coordinates"]
    return (r["id"], r["camera_id"], bytes.fromhex(r["data"]), lat, lon, r["disease"],
            r["percentage"], micros(r["created_at"]), micros(r["updated_at"]),
            int(r["is_active"]), int(r["is_deleted"]))


def main():
    brokers, group, path = sys.argv[1:4]
    db = open_store(path)
    sql = {p: upsert_sql(p) for p in PLANTS}
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "enable.partition.eof": True})
    assigned, at_end = set(), set()
    consumer_assign = lambda c, parts: assigned.update((p.topic, p.partition) for p in parts)
    consumer.subscribe(list(PLANTS), on_assign=consumer_assign)
    records = 0
    nbytes = 0
    first = last = None
    while not assigned or at_end != assigned:
        msgs = consumer.consume(500, 1.0)
        rows = {p: [] for p in PLANTS}
        for m in msgs:
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add((m.topic(), m.partition()))
                continue
            at_end.discard((m.topic(), m.partition()))
            first = first or time.monotonic()
            records += 1
            nbytes += len(m.value())
            rows[m.topic()].append(row(m.value()))
        if any(rows.values()):
            db.execute("BEGIN")
            for plant, batch in rows.items():
                db.executemany(sql[plant], batch)
            db.execute("COMMIT")
            consumer.commit(asynchronous=False)
            last = time.monotonic()
    consumer.close()
    span = (last - first) if first and last else 0
    rate = records / span if span else 0
    print(f"consume: {records} records: steady rate {rate:.0f} events/s, "
          f"{nbytes / span / 1e6 if span else 0:.1f} MB/s ({records} records in {span:.2f} s)",
          file=sys.stderr)


if __name__ == "__main__":
    main()

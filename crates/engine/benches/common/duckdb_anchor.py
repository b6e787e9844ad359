"""DuckDB side of the audit bench (crates/engine/benches/audit.rs): loads the same JSON lines and
times the same first pages, pivots and timelines, so our figures have an anchor from the same run.

Run by the bench with the python of scripts/bench-duckdb.sh (DuckDB pinned there):
    python duckdb_anchor.py EVENTS.jsonl DB_FILE RUNS THREADS
Prints one JSON object: load seconds, database bytes, and per query kind median / p99 ms and rows.
The query kinds and the values they vary over mirror `search_benches` in audit.rs; DuckDB has no
index here, so every query is a scan (its free text is a case-insensitive substring over the
line's text fields, which finds at least what our full-text index finds).
"""

import json
import os
import sys
import time

import duckdb

SCOPES = ["invoices:read", "invoices:write", "payments:read", "payments:refund",
          "reports:read", "reports:export", "deploy:write", "tickets:read"]
EVENTS = ["token.used", "token.used", "token.used", "grant.success", "introspection.request"]
TEXT = "concat_ws(' ', event, client_id, account_id, scope, fingerprint, source_ip, outcome, detail)"
# Rows come back as Python values; the time as text (as ours cross IPC), which also spares pytz.
PAGE = "SELECT * REPLACE (ts::VARCHAR AS ts) FROM ev WHERE {} ORDER BY ev.ts DESC LIMIT 50"


def credential(i):
    token = (i * 7919) % 20000
    return "%064x" % ((token * 0x9E3779B97F4A7C15F39CC0605CEDC835) % (1 << 128))


# (name, SQL, parameters of the i-th run): the same names and values as the Rust bench.
QUERIES = [
    ("actor + outcome", PAGE.format("account_id = ? AND outcome = 'deny'"),
     lambda i: ["user-%04d" % (i % 2000)]),
    ("actor + time range",
     PAGE.format("account_id = ? AND ts >= now()::TIMESTAMP - INTERVAL 7 DAY"),
     lambda i: ["user-%04d" % (i % 2000)]),
    ("outcome + resource prefix", PAGE.format("outcome = 'deny' AND starts_with(scope, ?)"),
     lambda i: [SCOPES[i % 8][:4]]),
    ("credential", PAGE.format("fingerprint = ?"), lambda i: [credential(i)]),
    ("free text + actor", PAGE.format(f"account_id = ? AND {TEXT} ILIKE '%insufficient_scope%'"),
     lambda i: ["user-%04d" % (i % 2000)]),
    ("free text only", PAGE.format(f"{TEXT} ILIKE ? AND {TEXT} ILIKE '%server_error%'"),
     lambda i: ["%%client-%02d%%" % (i % 40)]),
    ("rare outcome, no index help", PAGE.format("outcome = 'error' AND event = ?"),
     lambda i: [EVENTS[i % 5]]),
    ("pivot: actor's first page", PAGE.format("account_id = ?"),
     lambda i: ["user-%04d" % (i % 2000)]),
    ("timeline: all events",
     "SELECT time_bucket(INTERVAL 12 HOUR, ts)::VARCHAR b, outcome, count(*) FROM ev GROUP BY ALL",
     lambda i: []),
    ("timeline: one actor",
     "SELECT time_bucket(INTERVAL 12 HOUR, ts)::VARCHAR b, outcome, count(*) FROM ev"
     " WHERE account_id = ? GROUP BY ALL",
     lambda i: ["user-%04d" % (i % 2000)]),
]


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round((len(xs) - 1) * p))]


def main():
    events, db, runs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for f in (db, db + ".wal"):
        if os.path.exists(f):
            os.remove(f)
    con = duckdb.connect(db)
    con.execute(f"SET threads = {threads}")
    t = time.perf_counter()
    con.execute("CREATE TABLE ev AS SELECT * FROM read_json_auto(?)", [events])
    con.execute("CHECKPOINT")
    load = time.perf_counter() - t
    rows = con.execute("SELECT count(*) FROM ev").fetchone()[0]
    out = {"version": duckdb.__version__, "load_s": load, "rows": rows,
           "db_bytes": os.path.getsize(db), "queries": {}}
    for name, sql, params in QUERIES:
        for i in range(5):
            con.execute(sql, params(i)).fetchall()
        times, got = [], 0
        for i in range(runs):
            p = params(i * 13 + 7)
            t = time.perf_counter()
            got += len(con.execute(sql, p).fetchall())
            times.append(time.perf_counter() - t)
        out["queries"][name] = {"median_ms": percentile(times, 0.5) * 1e3,
                                "p99_ms": percentile(times, 0.99) * 1e3, "rows": got // runs}
    con.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The read side of the aggregates benchmark (loadtest/aggregates-bench.sh, docs/performance.md).

Against a running LRS whose tenant holds the `loadtest roster` population and `loadtest post`
statements (October 2025), it measures, sequentially over one keep-alive connection:

  latency   GET /api/v1/aggregates p50/p99 for the dashboard questions of issue 11: one class
            over 30 days (per learner), one school over the school year (per class), the whole
            tenant over one month grouped by school, and the inactive list of one class;
  delay     acknowledgement -> visible in the aggregates: a statement by a fresh unknown learner
            is POSTed, then its learner row is polled every 10 ms until it counts;
  transfer  re-attribution of one learner: a delta roster import moving one student to another
            class as of 2025-10-15, the import's time and the first class question after it.

Standard library only. Prints one line per measurement and a JSON summary on the last line.
Usage: aggregates_probe.py ROOT KEY SECRET ROSTER_DIR [SAMPLES] [DELAY_PROBES]
(SAMPLES 0: only the delay; DELAY_PROBES 0: no delay)
"""

import base64
import csv
import http.client
import io
import json
import random
import sys
import time
import urllib.parse
import uuid
import zipfile

PERIOD_MONTH = ("2025-10-01", "2025-11-01")
PERIOD_30_DAYS = ("2025-10-01", "2025-10-31")
SCHOOL_YEAR = ("2025-04-01", "2026-04-01")


class Lrs:
    def __init__(self, root, key, secret):
        url = urllib.parse.urlparse(root)
        self.host, self.port = url.hostname, url.port or 80
        self.auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {}, Authorization=self.auth)
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                return response.status, data
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def aggregates(self, **query):
        status, data = self.request("GET", "/api/v1/aggregates?" + urllib.parse.urlencode(query))
        assert status == 200, (status, data[:300])
        return json.loads(data)


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(lrs, question, samples):
    """Runs `question()` samples times; answers (first call ms, p50 ms, p99 ms, rows)."""
    durations = []
    answered = 0
    for _ in range(samples):
        started = time.perf_counter()
        answer = question()
        durations.append((time.perf_counter() - started) * 1000)
        answered = len(answer.get("rows", []))
    return durations[0], percentile(durations[1:] or durations, 50), percentile(durations[1:] or durations, 99), answered


def main():
    root, key, secret, roster_dir = sys.argv[1:5]
    samples = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    delay_probes = int(sys.argv[6]) if len(sys.argv) > 6 else 50
    lrs = Lrs(root, key, secret)
    rng = random.Random(int(time.time()))
    classes = [c for c in rows(f"{roster_dir}/classes.csv") if c["classType"] == "homeroom"]
    schools = [o["sourcedId"] for o in rows(f"{roster_dir}/orgs.csv") if o["type"] == "school"]
    summary = {}

    def report(name, first, p50, p99, answered, target):
        print(f"{name}: first {first:.1f} ms, p50 {p50:.1f} ms, p99 {p99:.1f} ms "
              f"({answered} rows; target p99 <= {target} ms)", flush=True)
        summary[name] = {"first_ms": round(first, 1), "p50_ms": round(p50, 1),
                         "p99_ms": round(p99, 1), "rows": answered, "target_p99_ms": target}

    if samples:
        latency(lrs, rng, classes, schools, samples, report)
    if delay_probes:
        delay(lrs, delay_probes, summary)
    if samples:
        transfer(lrs, rng, classes, roster_dir, summary)
    print(json.dumps(summary))


def latency(lrs, rng, classes, schools, samples, report):
    # Every question asks a random class or school each time (no answer cache in the LRS).
    report("class_30_days", *timed(lrs, lambda: lrs.aggregates(
        group_by="learner", **{"class": rng.choice(classes)["sourcedId"]},
        metrics="statements,learning_time_seconds,correct_rate,last_active",
        since=PERIOD_30_DAYS[0], until=PERIOD_30_DAYS[1]), samples), 20)
    report("school_school_year", *timed(lrs, lambda: lrs.aggregates(
        group_by="class", school=rng.choice(schools),
        metrics="statements,active_learners,learning_time_seconds,correct_rate",
        since=SCHOOL_YEAR[0], until=SCHOOL_YEAR[1]), samples), 100)
    report("tenant_month_by_school", *timed(lrs, lambda: lrs.aggregates(
        group_by="school", metrics="statements,active_learners,learning_time_seconds",
        since=PERIOD_MONTH[0], until=PERIOD_MONTH[1]), max(10, samples // 5)), 500)

    def inactive():
        query = urllib.parse.urlencode(
            {"days": 3, "date": "2025-10-31", "class": rng.choice(classes)["sourcedId"]})
        status, data = lrs.request("GET", "/api/v1/learners/inactive?" + query)
        assert status == 200, (status, data[:300])
        return {"rows": json.loads(data).get("learners", [])}
    report("inactive_class", *timed(lrs, inactive, samples), 20)


def delay(lrs, delay_probes, summary):
    """Acknowledgement -> visible in the aggregates."""
    delays = []
    for _ in range(delay_probes):
        name = f"probe-{uuid.uuid4()}"
        statement = {
            "actor": {"account": {"homePage": "https://probe.example.jp", "name": name}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": "https://probe.example.jp/activity"},
            "timestamp": "2025-10-15T10:00:00+09:00",
        }
        status, data = lrs.request("POST", "/xapi/statements", json.dumps(statement).encode(), {
            "Content-Type": "application/json", "X-Experience-API-Version": "2.0.0"})
        if status != 200:  # 503 under overload: the probe retries later
            time.sleep(0.1)
            continue
        acked = time.perf_counter()
        learner = f"account::https://probe.example.jp::{name}"
        while True:
            answer = lrs.aggregates(learner=learner, since=PERIOD_MONTH[0], until=PERIOD_MONTH[1])
            if answer["rows"] and answer["rows"][0].get("statements") == 1:
                break
            if time.perf_counter() - acked > 60:
                raise SystemExit(f"{name} not in the aggregates 60 s after its acknowledgement")
            time.sleep(0.01)
        delays.append((time.perf_counter() - acked) * 1000)
        time.sleep(0.05)
    if delays:
        p50, p99 = percentile(delays, 50), percentile(delays, 99)
        print(f"ack_to_aggregates: {len(delays)} probes, p50 {p50:.0f} ms, p99 {p99:.0f} ms "
              f"(target p99 <= 2000 ms)", flush=True)
        summary["ack_to_aggregates"] = {"probes": len(delays), "p50_ms": round(p50),
                                        "p99_ms": round(p99), "target_p99_ms": 2000}


def transfer(lrs, rng, classes, roster_dir, summary):
    # Re-attributing one transferred learner: a delta import ending one student's enrollment on
    # 2025-10-14 and enrolling them in another homeroom of their school from 2025-10-15.
    # The mover is a learner with statements after the transfer day, so the move shows.
    enrollments = [e for e in rows(f"{roster_dir}/enrollments.csv") if e["role"] == "student"]
    while True:
        moving = rng.choice(enrollments)
        active = lrs.aggregates(learner=moving["userSourcedId"], since="2025-10-15",
                                until=PERIOD_MONTH[1])
        if active["rows"] and active["rows"][0].get("statements"):
            break
    school = moving["schoolSourcedId"]
    target = next(c for c in classes
                  if c["schoolSourcedId"] == school and c["sourcedId"] != moving["classSourcedId"])
    stamp = "2025-10-20T00:00:00.000Z"
    header = ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
              "userSourcedId", "role", "primary", "beginDate", "endDate"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerow([moving["sourcedId"], "active", stamp, moving["classSourcedId"], school,
                     moving["userSourcedId"], "student", moving.get("primary", ""),
                     moving["beginDate"], "2025-10-14"])
    writer.writerow([f"{moving['sourcedId']}-t", "active", stamp, target["sourcedId"], school,
                     moving["userSourcedId"], "student", moving.get("primary", ""), "2025-10-15",
                     moving["endDate"]])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("manifest.csv", "propertyName,value\nmanifest.version,1.0\n"
                   "oneroster.version,1.2\nfile.enrollments,delta\n")
        z.writestr("enrollments.csv", out.getvalue())

    def class_learners(class_id):
        answer = lrs.aggregates(group_by="learner", **{"class": class_id},
                                since=PERIOD_MONTH[0], until=PERIOD_MONTH[1])
        return {row["learner"] for row in answer["rows"]}

    before = class_learners(target["sourcedId"])
    started = time.perf_counter()
    status, data = lrs.request("POST", "/api/v1/roster", archive.getvalue(),
                               {"Content-Type": "application/zip"})
    imported = time.perf_counter()
    assert status == 200, (status, data[:300])
    after = class_learners(target["sourcedId"])
    answered = time.perf_counter()
    moved_in = moving["userSourcedId"] in after and moving["userSourcedId"] not in before
    print(f"transfer: delta import {1000 * (imported - started):.0f} ms, first class question "
          f"after it {1000 * (answered - imported):.0f} ms (learner now counted in the new class: "
          f"{moved_in})", flush=True)
    summary["transfer"] = {"import_ms": round(1000 * (imported - started)),
                           "first_question_ms": round(1000 * (answered - imported)),
                           "moved": moved_in}


if __name__ == "__main__":
    main()

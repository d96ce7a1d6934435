"""Expected query results computed directly from the raw JSON lines of a lake, in plain Python,
independently of the SQL (the tests compare the two)."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

ACCEPTED = ("Send", "Rendering Failure", "Reject")


def ms(ts: str) -> int:
    """ISO-8601 'YYYY-MM-DDTHH:MM:SS.mmmZ' -> Unix milliseconds."""
    d = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return int(d.timestamp()) * 1000 + d.microsecond // 1000


def read_events(lake: Path, dt_from: str = "", dt_to: str = "9999-12-31") -> list[dict]:
    """Every event of the lake, or those under the dt partitions dt_from..dt_to (inclusive)."""
    out = []
    for f in sorted((lake / "ses_events").glob("dt=*/hour=*/*.json")):
        dt = f.parent.parent.name.removeprefix("dt=")
        if not dt_from <= dt <= dt_to:
            continue
        for line in f.read_text().splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def tag(e: dict, key: str):
    v = e["mail"].get("tags", {}).get(key)
    return v[0] if v else None


def campaign_events(lake: Path, campaign: str, dt_from: str = "", dt_to: str = "9999-12-31") -> list[dict]:
    return [e for e in read_events(lake, dt_from, dt_to) if tag(e, "campaign") == campaign]


def event_time(e: dict) -> str:
    for k in ("delivery", "bounce", "complaint", "deliveryDelay"):
        if k in e and e[k].get("timestamp"):
            return e[k]["timestamp"]
    return e["mail"]["timestamp"]


def nearest_rank(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[max(0, math.ceil(p * len(s)) - 1)]


def summary(ev: list[dict]) -> dict:
    types = Counter(e["eventType"] for e in ev)
    btypes = Counter(e["bounce"]["bounceType"] for e in ev if e["eventType"] == "Bounce")
    times = [ms(event_time(e)) for e in ev]
    sends = [e for e in ev if e["eventType"] == "Send"]
    subjects = [e["mail"]["commonHeaders"].get("subject") for e in sends]
    return {
        "events": len(ev),
        "messages": len({e["mail"]["messageId"] for e in ev}),
        "sends": types["Send"],
        "deliveries": types["Delivery"],
        "bounces": types["Bounce"],
        "permanent_bounces": btypes["Permanent"],
        "transient_bounces": btypes["Transient"],
        "undetermined_bounces": btypes["Undetermined"],
        "complaints": types["Complaint"],
        "rendering_failures": types["Rendering Failure"],
        "rejects": types["Reject"],
        "delivery_delays": types["DeliveryDelay"],
        "subjects": sum(1 for s in subjects if s is not None),
        "distinct_subjects": len({s for s in subjects if s is not None}),
        "duration_seconds": (max(times) - min(times)) / 1000.0,
    }


def messages(ev: list[dict]) -> dict[str, dict]:
    """Per accepted message id: unique_code, recipient, first sent_at, Send event count."""
    out: dict[str, dict] = {}
    for e in ev:
        if e["eventType"] not in ACCEPTED:
            continue
        m = out.setdefault(e["mail"]["messageId"], {
            "unique_code": tag(e, "unique_code"), "recipient": e["mail"]["destination"][0],
            "sent_at": e["mail"]["timestamp"], "send_events": 0})
        m["sent_at"] = min(m["sent_at"], e["mail"]["timestamp"])
        m["send_events"] += e["eventType"] == "Send"
    return out


def duplicates(ev: list[dict]) -> set[tuple[str, str, int]]:
    msgs = messages(ev)
    by_code, by_rcpt = defaultdict(int), defaultdict(int)
    for m in msgs.values():
        if m["unique_code"] is not None:
            by_code[m["unique_code"]] += 1
        by_rcpt[m["recipient"]] += 1
    rows = {("unique_code", k, n) for k, n in by_code.items() if n > 1}
    rows |= {("recipient", k, n) for k, n in by_rcpt.items() if n > 1}
    rows |= {("message_id", k, m["send_events"]) for k, m in msgs.items() if m["send_events"] > 1}
    return rows


def timeline(ev: list[dict]) -> dict[int, tuple[int, int]]:
    per: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for e in ev:
        if e["eventType"] == "Send":
            per[ms(e["mail"]["timestamp"]) // 1000][0] += 1
        elif e["eventType"] == "Delivery":
            per[ms(e["delivery"]["timestamp"]) // 1000][1] += 1
    return {k: (v[0], v[1]) for k, v in per.items()}


def latency(ev: list[dict]) -> dict[str, dict]:
    d = [e for e in ev if e["eventType"] == "Delivery"]
    series = {
        "processing_time_ms": [float(e["delivery"]["processingTimeMillis"]) for e in d],
        "send_to_delivery_ms": [float(ms(e["delivery"]["timestamp"]) - ms(e["mail"]["timestamp"])) for e in d],
    }
    return {k: {"samples": len(v), "min_ms": min(v), "max_ms": max(v), "p50_ms": nearest_rank(v, 0.5),
                "p90_ms": nearest_rank(v, 0.9), "p99_ms": nearest_rank(v, 0.99), "avg_ms": sum(v) / len(v)}
            for k, v in series.items() if v}


def bounces_complaints(ev: list[dict]) -> Counter:
    c: Counter = Counter()
    for e in ev:
        if e["eventType"] == "Bounce":
            b = e["bounce"]
            key = (e["mail"]["destination"][0], "Bounce", b.get("bounceType") or "", b.get("bounceSubType") or "", "")
        elif e["eventType"] == "Complaint":
            key = (e["mail"]["destination"][0], "Complaint", "", "",
                   e["complaint"].get("complaintFeedbackType") or "")
        else:
            continue
        c[key] += 1
    return c


STATUS_ORDER = [("Rendering Failure", "rendering_failed"), ("Reject", "rejected"), ("Complaint", "complained"),
                ("Bounce", "bounced"), ("Delivery", "delivered"), ("DeliveryDelay", "delayed")]


def reconciliation(ev: list[dict]) -> dict:
    per: dict[str, dict] = {}
    for e in ev:
        m = per.setdefault(e["mail"]["messageId"], {"types": Counter(), "code": tag(e, "unique_code"),
                                                     "sent_at": e["mail"]["timestamp"]})
        m["types"][e["eventType"]] += 1
    status = Counter()
    for m in per.values():
        s = next((name for t, name in STATUS_ORDER if m["types"][t]), "sent")
        status[s] += 1
    codes = Counter(m["code"] for m in per.values() if m["code"] is not None)
    without = sum(1 for m in per.values() if m["code"] is None)
    times = [ms(m["sent_at"]) for m in per.values()]
    span = (max(times) - min(times)) / 1000.0
    return {
        "messages": len(per),
        "unique_codes": len(codes),
        "messages_without_unique_code": without,
        "sent_requests": len(codes) + without,
        "duplicate_unique_codes": sum(1 for n in codes.values() if n > 1),
        "duplicate_sends": len(per) - len(codes) - without,
        "delivered": status["delivered"], "bounced": status["bounced"], "complained": status["complained"],
        "rendering_failed": status["rendering_failed"], "rejected": status["rejected"],
        "delivery_delayed": status["delayed"], "pending": status["sent"],
        "duplicate_send_events": sum(1 for m in per.values() if m["types"]["Send"] > 1),
        "send_span_seconds": span,
        "achieved_send_rate": len(per) / span if span else None,
    }


def segments(ev: list[dict]) -> dict[tuple[str, str], tuple[int, float | None]]:
    out = {}
    for t in ("Send", "Delivery"):
        ts = [ms(e["delivery"]["timestamp"] if t == "Delivery" else e["mail"]["timestamp"]) / 1000
              for e in ev if e["eventType"] == t]
        if not ts:
            continue
        t0, t20, t90, t100 = min(ts), nearest_rank(ts, 0.2), nearest_rank(ts, 0.9), max(ts)
        for name, lo, hi, n in (
            ("lower_20", t0, t20, sum(1 for x in ts if x < t20)),
            ("middle_70", t20, t90, sum(1 for x in ts if t20 <= x < t90)),
            ("upper_10", t90, t100, sum(1 for x in ts if x >= t90)),
        ):
            out[(t, name)] = (n, n / (hi - lo) if hi - lo else None)
    return out


def histogram(ev: list[dict]) -> dict[int, int]:
    c: Counter = Counter()
    for e in ev:
        if e["eventType"] == "Delivery":
            c[math.floor(2 * math.log2(max(float(e["delivery"]["processingTimeMillis"]), 1.0)))] += 1
    return dict(c)

"""Deterministic fixture lake in the SES event-publishing format.

Writes <lake>/ses_events/dt=YYYY-MM-DD/hour=HH/<n>.json (JSON lines, one SES event each, camelCase as
SES publishes it; see shared/reference/aws-facts.md) for a mix of mailbox-simulator outcomes, with
the things the analytics must catch: a unique_code sent twice, a Send event stored twice, rendering
failures, delivery delays, events of another campaign and events without any campaign tag.

Used by the analytics tests when no simulator-produced lake is available; the tests compute their
expectations from the raw lines they read back, never from this generator's bookkeeping.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

SIM = "simulator.amazonses.com"
CONFIG_SET = "load-test-config"
SENDER = "sender@example.com"


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass
class Lake:
    root: Path
    lines: int = 0

    def __post_init__(self) -> None:
        self._files: dict[tuple[str, str], list[str]] = {}

    def add(self, event: dict, at: datetime) -> None:
        key = (at.strftime("%Y-%m-%d"), at.strftime("%H"))
        self._files.setdefault(key, []).append(json.dumps(event, separators=(",", ":")))
        self.lines += 1

    def flush(self) -> None:
        for (dt, hour), lines in sorted(self._files.items()):
            d = self.root / "ses_events" / f"dt={dt}" / f"hour={hour}"
            d.mkdir(parents=True, exist_ok=True)
            # Two files per partition, as a roll-over would produce.
            half = (len(lines) + 1) // 2
            for i, chunk in enumerate((lines[:half], lines[half:])):
                if not chunk:
                    continue
                tmp = d / f".part-{i}.tmp"
                tmp.write_text("\n".join(chunk) + "\n")
                os.replace(tmp, d / f"events-{i:05d}.json")
        self._files.clear()


def mail(message_id: str, at: datetime, to: str, tags: dict[str, str], subject: str) -> dict:
    all_tags = {k: [v] for k, v in tags.items()}
    all_tags.update(
        {
            "ses:configuration-set": [CONFIG_SET],
            "ses:source-ip": ["127.0.0.1"],
            "ses:from-domain": ["example.com"],
            "ses:caller-identity": ["sesload"],
        }
    )
    return {
        "timestamp": iso(at),
        "source": SENDER,
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": [to],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": SENDER},
            {"name": "To", "value": to},
            {"name": "Subject", "value": subject},
        ],
        "commonHeaders": {"from": [SENDER], "to": [to], "messageId": message_id, "subject": subject},
        "tags": all_tags,
    }


def generate(lake_dir: Path, campaign: str = "fixture-1", n: int = 400, seed: int = 7,
             start: datetime | None = None, duplicates: bool = True) -> dict:
    """Write the fixture lake; return the counters a local stack would report for the campaign."""
    rng = random.Random(seed)
    lake = Lake(lake_dir)
    # Start 20 s before an hour boundary so the campaign spans two hour partitions.
    t0 = start or datetime(2026, 11, 27, 9, 59, 40, 0, tzinfo=timezone.utc)
    outcomes = (["success"] * 70 + ["bounce"] * 8 + ["ooto"] * 6 + ["complaint"] * 5
                + ["suppressionlist"] * 4 + ["render"] * 4 + ["delay"] * 3)
    seq = 0

    def next_id() -> str:
        nonlocal seq
        seq += 1
        return f"0100019{seq:09d}-{rng.getrandbits(32):08x}-fixture-000000"

    def send_one(i: int, code: str | None, kind: str, at: datetime, camp: str | None) -> None:
        label = "success" if kind in ("render", "delay") else kind
        to = f"{label}+{i}@{SIM}"
        tags = {"unique_code": code} if code else {}
        if camp is not None:
            tags["campaign"] = camp
        mid = next_id()
        subject = f"Hello customer {i % 97}"
        m = mail(mid, at, to, tags, subject)
        lake.add({"eventType": "Send", "mail": m, "send": {}}, at)
        ptm = int(rng.lognormvariate(5.5, 0.6))  # ~250 ms median, long tail
        done = at + timedelta(milliseconds=ptm)
        if kind in ("success", "ooto", "complaint"):
            lake.add({"eventType": "Delivery", "mail": m, "delivery": {
                "timestamp": iso(done), "processingTimeMillis": ptm, "recipients": [to],
                "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "a8-70.smtp-out.amazonses.com"}}, done)
        if kind == "complaint":
            later = done + timedelta(milliseconds=400)
            lake.add({"eventType": "Complaint", "mail": m, "complaint": {
                "complainedRecipients": [{"emailAddress": to}], "timestamp": iso(later),
                "feedbackId": f"fb-{mid}", "complaintFeedbackType": "abuse",
                "userAgent": "Amazon SES Mailbox Simulator", "arrivalDate": iso(later)}}, later)
        if kind in ("bounce", "suppressionlist"):
            sub = "General" if kind == "bounce" else "OnAccountSuppressionList"
            lake.add({"eventType": "Bounce", "mail": m, "bounce": {
                "bounceType": "Permanent", "bounceSubType": sub,
                "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "5.1.1",
                                       "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": iso(done), "feedbackId": f"fb-{mid}", "reportingMTA": "dns; amazonses.com"}}, done)
        if kind == "render":
            lake.add({"eventType": "Rendering Failure", "mail": m, "failure": {
                "errorMessage": "Attribute 'first_name' is not present in the rendering data.",
                "templateName": "SimpleEmail"}}, at)
        if kind == "delay":
            lake.add({"eventType": "DeliveryDelay", "mail": m, "deliveryDelay": {
                "timestamp": iso(done), "delayType": "TransientCommunicationFailure",
                "expirationTime": iso(done + timedelta(hours=12)), "reportingMTA": "a8-70.smtp-out.amazonses.com",
                "delayedRecipients": [{"emailAddress": to, "status": "4.4.7", "diagnosticCode": "smtp; 421"}]}}, done)

    at = t0
    for i in range(n):
        # Paced at ~14/s with jitter, and one burst second with 30 sends.
        at += timedelta(milliseconds=0 if 200 <= i < 230 else rng.randint(40, 100))
        kind = rng.choice(outcomes)
        code = f"{campaign}-{i:06d}"
        send_one(i, code, kind, at, campaign)
        if duplicates and i in (17, 123):  # the same request sent twice (a lost ledger write): 2 message ids
            send_one(i, code, "success", at + timedelta(milliseconds=500), campaign)
    # One Send event stored twice (Firehose at-least-once): same message id, same record.
    if duplicates:
        lake.add(json.loads(lake._files[next(iter(lake._files))][0]), t0)
    # A message without a unique_code tag, and noise: another campaign, and no campaign at all.
    send_one(n + 1, None, "success", at + timedelta(milliseconds=50), campaign)
    for j in range(25):
        send_one(10_000 + j, f"other-{j}", rng.choice(outcomes), t0 + timedelta(milliseconds=37 * j), "other-campaign")
    for j in range(5):
        send_one(20_000 + j, f"untagged-{j}", "success", t0 + timedelta(milliseconds=91 * j), None)
    lake.flush()
    sent_requests = n + 1  # every request once (the duplicates are extra), plus the untagged-code one
    dlq = {"unknown_customer": 3, "recipient_not_allowed": 2}
    queued = 4
    # The shape of sesload-local's CampaignReconciliation (the `campaign` object of /_local/stats).
    return {
        "campaign": campaign,
        "accepted": sent_requests + sum(dlq.values()) + queued,
        "sent": sent_requests,
        "dlq": sum(dlq.values()),
        "dlq_by_reason": dlq,
        "queued": queued,
        "duplicate_codes": 0,
        "unaccounted": 0,
        "max_send_rate": 14.0,
        "ses_send_ms": {"p50": 48.0, "p99": 95.0},
    }


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".sesload/lake")
    counters = generate(out)
    print(json.dumps(counters))

"""Steering a campaign while the real `sesload up` sends it: the poller parks a paused campaign's
records (another campaign keeps sending), sends them once each after a resume, and acknowledges a
cancelled campaign's records without sending them. Checked against the simulator's message log
(its send timestamps), the ledger, the DLQ and the queue (`/_local/campaigns`)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime

from tests.campaigns.test_campaign_cli import (accept, adds_up, campaign, campaign_json, status, wait_drained,
                                              wait_until)

# A paused campaign's records park for 1 s, then at most 2 s (so a resume is seen within 2 s);
# a fixed quota of 40/s makes a few hundred records take seconds, not minutes, and keeps the
# steered campaign sending for well over TAKES_EFFECT_S had it not been steered.
CONFIG = {"batch_size": 10, "maximum_concurrency": 2, "maximum_batching_window_in_seconds": 0,
          "park_base_delay_seconds": 1, "park_max_delay_seconds": 2,
          "sim": {"max_send_rate": 40, "latency": {"p50_ms": 20, "p99_ms": 60}}}

# The poller reads campaign states at most every 5 s (CAMPAIGN_STATE_CACHE): a pause or cancel
# stops the campaign's sends within that, plus a send in flight. Nothing of the campaign may be
# sent once this much time has passed since the command.
TAKES_EFFECT_S = 10


def interleaved(stack, a: str, na: int, b: str, nb: int, chunk: int = 20):
    """Accept `na` requests of `a` and `nb` of `b`, alternating in chunks (so both are queued
    side by side)."""
    ia = ib = 0
    while ia < na or ib < nb:
        if ia < na:
            n = min(chunk, na - ia)
            accept(stack, a, n, start=ia)
            ia += n
        if ib < nb:
            n = min(chunk, nb - ib)
            accept(stack, b, n, start=ib)
            ib += n


def sends(stack, name: str) -> list[tuple[float, str]]:
    """(epoch seconds, unique_code) of every message of campaign `name` in the simulator's log."""
    return [(datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00")).timestamp(),
             m["tags"]["unique_code"])
            for m in stack.sim_messages() if m["tags"].get("campaign") == name]


def sending(make_stack, a: str, na: int, b: str, nb: int):
    """A started stack with `a` and `b` queued side by side, once some of `a` has been sent."""
    stack = make_stack(CONFIG, customers=200)
    stack.seed()
    stack.start()
    interleaved(stack, a, na, b, nb)
    wait_until(stack, a, lambda r: r["sent"] >= 20, "sending", timeout=60, every=0.1)
    return stack


def test_a_paused_campaign_stops_sending_while_another_keeps_going_and_resumes_exactly_once(make_stack):
    stack = sending(make_stack, "pause-a", 500, "pause-b", 300)

    paused_at = time.time()
    p = campaign(stack, "pause", "pause-a", "--reason", "wrong list")
    assert p.returncode == 0 and "PAUSED" in p.stdout, p

    b = wait_drained(stack, "pause-b")["reconciliation"]
    assert (b["accepted"], b["sent"], b["unaccounted"]) == (300, 300, 0), b
    b_after = [t for t, _ in sends(stack, "pause-b") if t > paused_at + TAKES_EFFECT_S / 2]
    assert b_after, "the other campaign kept sending after the pause took effect"

    a_sends = sends(stack, "pause-a")
    late = [(t - paused_at, c) for t, c in a_sends if t > paused_at + TAKES_EFFECT_S]
    assert not late, f"pause-a sent {len(late)} record(s) more than {TAKES_EFFECT_S} s after the pause: {late[:3]}"
    a = status(stack, "pause-a")["reconciliation"]
    assert adds_up(a) and a["unaccounted"] == 0 and a["dlq"] == 0, a
    assert a["sent"] < 500 and a["queued"] == 500 - a["sent"], "the rest waits, parked"
    stats = stack.stats()
    assert stats["queue"]["parked_by_reason"].get("campaign_paused", 0) > 0, stats["queue"]
    assert stats["metrics"]["emails_parked"] > 0

    # Still paused a while later: nothing more of it goes out while the parks come back.
    time.sleep(3)
    assert len(sends(stack, "pause-a")) == len(a_sends)

    resumed = campaign_json(stack, "resume", "pause-a")
    assert resumed["control"]["state"] == "running"
    a = wait_drained(stack, "pause-a")["reconciliation"]
    assert (a["accepted"], a["sent"], a["dlq"], a["cancelled"], a["unaccounted"]) == (500, 500, 0, 0, 0), a
    time.sleep(0.5)
    sent = Counter(c for _, c in sends(stack, "pause-a"))
    assert len(sent) == 500 and set(sent.values()) == {1}, f"each code sent once: {sent.most_common(3)}"


def test_a_cancelled_campaign_is_acknowledged_without_sending_and_adds_up(make_stack):
    stack = sending(make_stack, "cancel-a", 400, "cancel-b", 100)

    cancelled_at = time.time()
    p = campaign(stack, "cancel", "cancel-a")
    assert p.returncode == 0 and "CANCELLED" in p.stdout, p

    a = wait_drained(stack, "cancel-a")["reconciliation"]
    b = wait_drained(stack, "cancel-b")["reconciliation"]
    assert (b["sent"], b["cancelled"], b["unaccounted"]) == (100, 0, 0), "the other campaign is sent"
    assert a["accepted"] == 400 and a["queued"] == 0 and a["unaccounted"] == 0, a
    assert a["accepted"] == a["sent"] + a["dlq"] + a["queued"] + a["cancelled"] + a["duplicate_codes"], a
    assert a["cancelled"] > 0 and a["sent"] < 400, a

    time.sleep(0.5)
    a_sends = sends(stack, "cancel-a")
    late = [(t - cancelled_at, c) for t, c in a_sends if t > cancelled_at + TAKES_EFFECT_S]
    assert not late, f"cancel-a sent {len(late)} record(s) more than {TAKES_EFFECT_S} s after the cancel: {late[:3]}"
    codes = Counter(c for _, c in a_sends)
    assert len(codes) == a["sent"] and set(codes.values()) <= {1}, "what was sent, once each"

    control = campaign_json(stack, "status", "cancel-a")["control"]
    assert control["state"] == "cancelled" and control["cancelled"] == a["cancelled"], control
    assert stack.stats()["metrics"]["emails_cancelled"] >= a["cancelled"]

"""kill -9 of `sesload up` three times during a run — while a backlog drains and more requests
keep arriving — restarting it each time: every request that got a 200 ends sent exactly once,
nothing is lost, nothing is sent twice.

The queue, ledger and lake are on disk; the simulator's in-memory message log restarts with the
stack, so duplicates across restarts are looked for in the event lake (Send events stamped before
the last restart) against the last run's message log. A client whose request died with the
process retries it (same unique_code): the ledger must turn a double acceptance into one send.

Limit of the check: the simulator runs inside `sesload up`, so a send it accepted in the last
moment before a kill, whose Send event had not reached a lake file yet and whose ledger record was
not written, is invisible afterwards; its retry after the claim lease (an "ambiguous retry") cannot
be told apart from a first send. The test prints how many Send events of earlier runs reached the
lake against how many sends the ledger recorded before the last restart."""

import collections
import json
import threading
import time

import requests

from tests.harness import API_KEY, INGEST_PATH, request_body, sim_codes

BACKLOG = 2000
LIVE = 1000


def test_kill9_three_times_loses_nothing_and_sends_nothing_twice(make_stack):
    stack = make_stack({
        "maximum_concurrency": 4,
        "batch_size": 50,
        "maximum_batching_window_in_seconds": 1,
        "visibility_timeout_seconds": 10,
        "claim_lease_seconds": 5,
        "retry_base_delay_seconds": 1,
        "sim": {"max_send_rate": 150, "latency": {"p50_ms": 20, "p99_ms": 40}},
    }, customers=500)
    stack.seed()
    campaign = f"kill9-{int(time.time())}"
    stack.enqueue_raw([json.dumps(request_body(campaign, n)) for n in range(BACKLOG)], campaign)
    stack.start()

    acknowledged: set[str] = set()
    retried_after_error = 0
    stop = threading.Event()
    # What went wrong in the producer thread, asserted on the main thread (an assertion raised
    # in the thread itself would only end the thread).
    producer_errors: list[str] = []

    def producer():
        nonlocal retried_after_error
        s = requests.Session()
        for n in range(BACKLOG, BACKLOG + LIVE):
            body = request_body(campaign, n)
            while not stop.is_set():
                try:
                    r = s.post(stack.url(INGEST_PATH), data=json.dumps(body), timeout=5,
                               headers={"x-api-key": API_KEY, "content-type": "application/json"})
                    if r.status_code == 200:
                        acknowledged.add(body["unique_code"])
                        break
                    if r.status_code < 500:
                        # Only a refusal caused by a kill (5xx) may be retried; a valid request
                        # refused with a 4xx is a failure.
                        producer_errors.append(f"request {n}: ingest answered {r.status_code}: {r.text}")
                        return
                except requests.RequestException:
                    pass
                retried_after_error += 1
                s = requests.Session()
                time.sleep(0.05)
            time.sleep(0.01)  # ~100 requests/s: arrivals keep coming while the backlog drains

    def run_producer():
        try:
            producer()
        except Exception as e:  # noqa: BLE001 - reported on the main thread
            producer_errors.append(f"producer raised {type(e).__name__}: {e}")

    t = threading.Thread(target=run_producer, daemon=True)
    t.start()
    sent_at_kill = []
    last_start_ms = 0
    try:
        for _ in range(3):
            time.sleep(2.5)
            sent_at_kill.append(stack.stats(campaign)["campaign"]["sent"])
            stack.kill9()
            time.sleep(0.3)
            stack.start()
            last_start_ms = int(time.time() * 1000)
        t.join(timeout=120)
    finally:
        stop.set()
    assert not producer_errors, producer_errors[0]
    assert not t.is_alive(), "the producer did not finish"
    assert len(acknowledged) == LIVE
    assert sent_at_kill[-1] < BACKLOG + LIVE, f"everything was sent before the last kill: {sent_at_kill}"

    c = stack.wait_settled(campaign, BACKLOG + LIVE, timeout=180)
    assert c["unaccounted"] == 0 and c["queued"] == 0, c
    assert c["sent"] == BACKLOG + LIVE and c["dlq"] == 0, c
    # Every acknowledged request is sent (the ledger has its SES message id).
    with stack.db() as db:
        sent_codes = {r[0] for r in db.execute("SELECT unique_code FROM ledger WHERE message_id IS NOT NULL")}
        recorded_before_last_start = db.execute(
            "SELECT count(*) FROM ledger WHERE message_id IS NOT NULL AND sent_at < ?", (last_start_ms,)
        ).fetchone()[0]
    assert acknowledged <= sent_codes, f"acknowledged but not sent: {sorted(acknowledged - sent_codes)[:10]}"

    # Duplicates within the last run (the simulator's log) ...
    last_run = collections.Counter(x for x in sim_codes(stack.sim_messages()) if x.startswith(campaign))
    dups = {k: v for k, v in last_run.items() if v > 1}
    assert not dups, f"sent twice in the last run: {dups}"
    # ... and across runs (the lake keeps the Send events of every run it had flushed).
    stack.sim_flush()
    time.sleep(1.5)
    lake = [(code, ts) for code, ts in stack.lake_sends() if code.startswith(campaign)]
    lake_counts = collections.Counter(code for code, _ in lake)
    lake_dups = {k: v for k, v in lake_counts.items() if v > 1}
    assert not lake_dups, f"Send events twice in the lake: {lake_dups}"
    earlier = {code for code, ts in lake if ts < last_start_ms - 1000}
    across = earlier & set(last_run)
    assert not across, f"sent before the last restart and again after it: {sorted(across)[:10]}"
    m = stack.stats()["metrics"]
    print(
        f"kill9: backlog {BACKLOG} + {LIVE} live requests (acknowledged {len(acknowledged)}, "
        f"{retried_after_error} client retries around the kills), accepted {c['accepted']} "
        f"(same-code re-acceptances {c['duplicate_codes']}); killed at sent={sent_at_kill}; "
        f"after 3 restarts sent {c['sent']}, dlq {c['dlq']}, lost 0, duplicates 0 (last-run log "
        f"{sum(last_run.values())}, lake Send events {len(lake)}, of them before the last restart "
        f"{len(earlier)} for {recorded_before_last_start} ledger sends); ambiguous retries in the last run "
        f"{m.get('ambiguous_retries', 0)}"
    )

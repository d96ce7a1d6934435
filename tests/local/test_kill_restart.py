"""kill -9 of `sesload up` while requests are being accepted and sent, then a restart on the
same data directory: every request that got a 200 is eventually sent (ledger) or in the DLQ,
none is sent twice (one ledger record per unique_code; the simulator of the second run sends no
code the first run had recorded as sent)."""

import collections
import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.harness import request_body

N = 1200


def test_kill9_during_ingest_and_sending_then_restart_loses_nothing(make_stack):
    stack = make_stack({
        "batch_size": 10, "maximum_concurrency": 2, "maximum_batching_window_in_seconds": 0,
        "visibility_timeout_seconds": 4, "claim_lease_seconds": 3, "retry_base_delay_seconds": 1,
        "sim": {"max_send_rate": 150, "latency": {"p50_ms": 10, "p99_ms": 30}},
    })
    stack.start()
    stack.seed(200)
    campaign = f"kill-{int(time.time())}"
    accepted: set[str] = set()
    lock = threading.Lock()
    killed = threading.Event()

    def one(n):
        body = request_body(campaign, n, 200)
        try:
            r = stack.post(body)
        except OSError:  # requests' exceptions are OSErrors: the connection died with the process
            return
        if r.status_code == 200:
            assert r.json()["messageId"]
            with lock:
                accepted.add(body["unique_code"])
        else:
            # Only refusals caused by the kill are allowed (no 4xx for valid bodies).
            assert r.status_code >= 500 or killed.is_set(), (r.status_code, r.text)

    with ThreadPoolExecutor(16) as pool:
        futs = [pool.submit(one, n) for n in range(N // 2)]
        # Kill while the first half is still being accepted and the poller is sending.
        deadline = time.time() + 20
        while True:
            before = stack.stats(campaign)["campaign"]
            if before["sent"] >= 10 or time.time() > deadline:
                break
            time.sleep(0.1)
        killed.set()
        stack.kill9()
        for f in futs:
            f.result()
    accepted_at_kill = len(accepted)
    assert 0 < before["sent"] < N, before

    stack.start()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(N // 2, N)))

    deadline = time.time() + 120
    while time.time() < deadline:
        c = stack.stats(campaign)["campaign"]
        if c["queued"] == 0 and c["accepted"] >= len(accepted):
            break
        time.sleep(0.5)
    c = stack.stats(campaign)["campaign"]
    assert stack.stop() == 0, "graceful stop after the restart"

    # Every 200 is in the accepted log, and nothing else is.
    db = sqlite3.connect(stack.data_dir / "sesload.db")
    logged = {r[0] for r in db.execute("SELECT unique_code FROM accepted WHERE campaign = ?", (campaign,))}
    assert accepted <= logged, f"accepted but not durable: {sorted(accepted - logged)[:5]}"
    # Requests whose 200 was lost in the kill may be durable too; none may be lost.
    sent = {r[0] for r in db.execute("SELECT unique_code FROM ledger WHERE message_id IS NOT NULL AND unique_code LIKE ?", (campaign + "%",))}
    dead = {json.loads(r[0])["unique_code"] for r in db.execute("SELECT body FROM dlq WHERE campaign = ?", (campaign,))}
    queued = db.execute("SELECT count(*) FROM messages WHERE campaign = ?", (campaign,)).fetchone()[0]
    lost = logged - sent - dead
    assert queued == 0 and not lost, f"queued {queued}, lost {sorted(lost)[:5]}"
    assert c["unaccounted"] == 0, c
    # One ledger record per code (primary key) and no code sent twice at the simulator as far as
    # the lake saw it (events of the killed run still in memory are lost with it).
    lake = collections.Counter(x for x in stack.lake_send_codes() if x.startswith(campaign))
    twice = {k: v for k, v in lake.items() if v > 1}
    assert not twice, f"sent twice: {twice}"
    print(f"kill/restart: {N} offered, {accepted_at_kill} accepted before the kill (sent {before['sent']} at kill), "
          f"{len(accepted)} accepted in all, {len(logged)} durable, sent {len(sent)}, dlq {len(dead)}, lost 0, "
          f"lake Send events {sum(lake.values())}, duplicates 0")

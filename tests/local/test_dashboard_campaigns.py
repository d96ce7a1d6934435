"""The dashboard's campaign view in headless Chromium (driven over the DevTools protocol,
tests/browser.py): each campaign's state, progress (sent / accepted), rate and ETA are on the
page and follow the run; its pause button pauses the campaign through `/_local/campaigns` with
the API key the operator gave the page — a key the served page never contains."""

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

from tests.browser import Browser
from tests.harness import request_body, require_tool

# 600 records at a 20/s account: about 30 s of sending, long enough to watch it move.
CONFIG = {"batch_size": 10, "maximum_concurrency": 2, "maximum_batching_window_in_seconds": 0,
          "sim": {"max_send_rate": 20, "latency": {"p50_ms": 20, "p99_ms": 60}}}
ROWS = "[...document.querySelectorAll('#campaigns tbody tr')]"


def row(browser: Browser, name: str) -> dict | None:
    """What the page shows for `name`: state, reason, sent, accepted, rate, ETA (text, kind,
    seconds) and which buttons are enabled."""
    return browser.evaluate(f"""(() => {{
      const r = {ROWS}.find(r => r.dataset.campaign === {name!r});
      if (!r) return null;
      const eta = r.querySelector('td.eta');
      return {{state: r.dataset.state, stateText: r.querySelector('td.state').textContent,
               sent: r.dataset.sent === undefined ? null : +r.dataset.sent, accepted: +r.dataset.accepted,
               progress: r.querySelector('td.progress').textContent, rate: r.querySelector('td.rate').textContent,
               eta: eta.textContent, etaKind: eta.dataset.kind || null,
               etaSeconds: eta.dataset.seconds === undefined ? null : +eta.dataset.seconds,
               buttons: Object.fromEntries([...r.querySelectorAll('button')].map(b => [b.dataset.action, !b.disabled]))}};
    }})()""")


def test_campaign_view_shows_progress_and_eta_and_pauses_with_the_api_key(make_stack, tmp_path):
    require_tool("chromium")
    stack = make_stack(CONFIG, customers=100)
    stack.seed()
    stack.start()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda n: stack.post(request_body("dash-a", n, 100)).status_code, range(600)))
        codes += list(pool.map(lambda n: stack.post(request_body("dash-b", n, 100)).status_code, range(20)))
    assert set(codes) == {200}

    # The served page carries no key.
    page = stack.session.get(stack.url("/dashboard"), timeout=10).text
    assert stack.api_key not in page

    with Browser("--window-size=1400,1400") as b:
        b.goto(stack.url("/dashboard"))
        first = b.wait_for(f"""(() => {{ const r = {ROWS}.find(r => r.dataset.campaign === 'dash-a');
            return r && +r.dataset.sent > 0 && r.querySelector('td.eta').dataset.kind === 'drains' ? 1 : 0; }})()""",
                           timeout=45)
        assert first
        a1 = row(b, "dash-a")
        assert a1["state"] == "running" and a1["stateText"].startswith("running"), a1
        assert a1["accepted"] == 600 and 0 < a1["sent"] < 600, a1
        assert f"/ 600" in a1["progress"], a1
        assert a1["rate"].endswith("/s") and float(a1["rate"][:-2]) > 0, a1
        assert "at the current rate" in a1["eta"] and a1["etaSeconds"] > 0, a1
        assert a1["buttons"] == {"pause": True, "resume": False, "cancel": True}, a1
        assert row(b, "dash-b")["accepted"] == 20

        # It updates: more sent, less time to go.
        time.sleep(4.5)
        a2 = row(b, "dash-a")
        assert a2["sent"] > a1["sent"], (a1, a2)
        assert a2["etaSeconds"] is not None and a2["etaSeconds"] < a1["etaSeconds"], (a1, a2)

        # Without a key the button only says it needs one.
        b.evaluate(f"{ROWS}.find(r => r.dataset.campaign === 'dash-a').querySelector('button[data-action=pause]').click()")
        b.wait_for("document.getElementById('campaign-msg').textContent.includes('API key')", timeout=5)
        assert stack.session.get(stack.url("/_local/campaigns/dash-a"), timeout=10).json()["control"]["state"] == "running"

        # The operator types the key; the page keeps it for the tab, not in the DOM.
        b.evaluate(f"document.getElementById('api-key').value = {stack.api_key!r};"
                   "document.getElementById('key-form').requestSubmit()")
        assert b.evaluate("document.getElementById('api-key').value") == ""
        assert stack.api_key not in b.evaluate("document.documentElement.outerHTML")
        b.evaluate(f"{ROWS}.find(r => r.dataset.campaign === 'dash-a').querySelector('button[data-action=pause]').click()")
        deadline = time.time() + 10
        control = {}
        while time.time() < deadline:
            control = stack.session.get(stack.url("/_local/campaigns/dash-a"), timeout=10).json()["control"]
            if control["state"] == "paused":
                break
            time.sleep(0.2)
        assert (control["state"], control["updated_by"], control["reason"]) == \
            ("paused", "dashboard", "paused from the dashboard"), control
        b.wait_for(f"{ROWS}.some(r => r.dataset.campaign === 'dash-a' && r.dataset.state === 'paused')", timeout=10)
        a3 = row(b, "dash-a")
        assert "dashboard: paused from the dashboard" in a3["stateText"], a3
        assert a3["buttons"] == {"pause": False, "resume": True, "cancel": True}, a3
        assert a3["etaKind"] == "not_running" and "not running" in a3["eta"], a3
        assert row(b, "dash-b")["state"] == "running"

        shot = tmp_path / "dashboard-campaigns.png"
        size = b.screenshot(shot)
        assert size > 10_000, size
        keep = os.environ.get("SESLOAD_SCREENSHOT_CAMPAIGNS")
        if keep:
            shutil.copy(shot, keep)
        print(f"campaign view: {a1} -> {a2} -> {a3}; screenshot {keep or shot}")

"""Auth: no key, wrong key, key in the wrong header -> 403 with a JSON message, nothing enqueued."""

import time

from tests.harness import API_KEY, request_body


def test_bad_keys_are_refused_and_nothing_is_enqueued(make_stack):
    stack = make_stack({"maximum_concurrency": 2, "batch_size": 10, "sim": {"max_send_rate": 0}})
    stack.seed()
    stack.start()
    campaign = f"auth-{int(time.time())}"
    good_key_other_header = [
        {"content-type": "application/json"},  # no key at all
        {"content-type": "application/json", "x-api-key": ""},  # empty key
        {"content-type": "application/json", "x-api-key": "wrong-key"},
        {"content-type": "application/json", "x-api-key": API_KEY[:-1]},  # prefix of the key
        {"content-type": "application/json", "x-api-key": API_KEY + "x"},  # key + suffix
        {"content-type": "application/json", "x-api-key": API_KEY.upper()},
        {"content-type": "application/json", "authorization": API_KEY},  # right key, wrong header
        {"content-type": "application/json", "authorization": f"Bearer {API_KEY}"},
        {"content-type": "application/json", "x-api-token": API_KEY},
        {"content-type": "application/json", "api-key": API_KEY},
    ]
    refused = 0
    for i, headers in enumerate(good_key_other_header):
        r = stack.post(request_body(campaign, i), headers=headers)
        assert r.status_code == 403, f"{headers} -> {r.status_code} {r.text}"
        assert "message" in r.json(), r.text
        refused += 1
    # The key in the query string is not a key either.
    r = stack.session.post(stack.url(f"/send_messages/events?x-api-key={API_KEY}"),
                           json=request_body(campaign, 99), timeout=10)
    assert r.status_code == 403, r.text
    refused += 1

    s = stack.stats(campaign)
    assert s["campaign"]["accepted"] == 0, s
    assert s["accepted"] == 0 and s["queue"]["total"] == 0, s

    # Control: the right key in the right header is accepted (so the 403s meant something).
    r = stack.post(request_body(campaign, 1000))
    assert r.status_code == 200, r.text
    assert r.json().get("messageId")
    c = stack.wait_settled(campaign, 1, timeout=30)
    assert c["accepted"] == 1 and c["sent"] == 1, c
    print(f"auth: refused {refused} requests with 403, accepted 0 of them; control accepted 1, sent 1")

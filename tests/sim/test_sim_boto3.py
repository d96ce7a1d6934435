"""boto3 `sesv2` (an independent client) against the real `sesload sim` binary.

Each simulator runs on a free port (`--port 0`, address read from `--ready-file`) in a temporary
directory (tests.harness.Simulator), and is stopped with SIGTERM (then SIGKILL) whatever happens.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from tests.harness import Simulator, sesload_bin

SENDER = "sender@example.com"


class Sim(Simulator):
    """The simulator with JSON logs and a boto3 `sesv2` client (`ses`, one attempt per call)."""

    def __init__(self, tmp: Path, *flags: str):
        super().__init__(tmp, "--log-format", "json", *flags)
        # The ready file's object is also the first stdout line.
        line = json.loads(self.stdout_lines()[0])
        assert line["event"] == "ready" and line["endpoint"] == self.endpoint and line["port"] == self.info["port"]
        self.ses = self.sesv2("AKIDBOTO", Config(retries={"max_attempts": 1, "mode": "standard"},
                                                 max_pool_connections=50))

    def lake(self) -> list[dict]:
        out = []
        for f in sorted((self.dir / "lake" / "ses_events").rglob("*.json")):
            assert not f.name.startswith(".")
            assert f.parent.name.startswith("hour=") and f.parent.parent.name.startswith("dt=")
            for line in f.read_text().splitlines():
                out.append(json.loads(line))
        return out


@pytest.fixture
def sim(tmp_path):
    s = Sim(tmp_path, "--no-quota", "--latency-ms", "0", "--delivery-delay-ms-min", "0",
            "--delivery-delay-ms-max", "50", "--complaint-delay-ms", "10", "--roll-ms", "100")
    try:
        yield s
    finally:
        s.stop()


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def test_operations_and_events_through_boto3(sim):
    ses = sim.ses
    ses.create_email_template(TemplateName="SimpleEmail", TemplateContent={
        "Subject": "Hello {{first_name}}", "Text": "Dear {{first_name}}, {{#if vip}}VIP {{/if}}code {{unique_code}}",
        "Html": "<p>{{first_name}}</p>"})
    with pytest.raises(ClientError) as e:
        ses.create_email_template(TemplateName="SimpleEmail", TemplateContent={"Subject": "x", "Text": "y"})
    assert code(e.value) == "AlreadyExistsException"
    t = ses.get_email_template(TemplateName="SimpleEmail")
    assert t["TemplateContent"]["Subject"] == "Hello {{first_name}}"
    listed = ses.list_email_templates()["TemplatesMetadata"]
    assert [x["TemplateName"] for x in listed] == ["SimpleEmail"]
    assert listed[0]["CreatedTimestamp"].year >= 2024  # botocore parsed a timestamp
    r = ses.test_render_email_template(TemplateName="SimpleEmail",
                                       TemplateData=json.dumps({"first_name": "Ann", "vip": True, "unique_code": "c1"}))
    assert "Subject: Hello Ann" in r["RenderedTemplate"] and "Dear Ann, VIP code c1" in r["RenderedTemplate"]

    acct = ses.get_account()
    assert acct["SendQuota"]["Max24HourSend"] == -1 and acct["SendQuota"]["MaxSendRate"] == 0
    assert acct["ProductionAccessEnabled"] is True

    ses.create_configuration_set(ConfigurationSetName="boto-set")
    assert ses.get_configuration_set(ConfigurationSetName="boto-set")["ConfigurationSetName"] == "boto-set"
    assert ses.list_configuration_sets()["ConfigurationSets"] == ["boto-set", "load-test-config"]
    ses.create_configuration_set_event_destination(
        ConfigurationSetName="boto-set", EventDestinationName="fh",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "BOUNCE"],
                          "KinesisFirehoseDestination": {"IamRoleArn": "arn:aws:iam::1:role/r",
                                                         "DeliveryStreamArn": "arn:aws:firehose:us-east-1:1:deliverystream/s"}})

    addrs = {"success+1@simulator.amazonses.com": ["Delivery", "Send"],
             "bounce+2@simulator.amazonses.com": ["Bounce", "Send"],
             "ooto@simulator.amazonses.com": ["Delivery", "Send"],
             "complaint@simulator.amazonses.com": ["Complaint", "Delivery", "Send"],
             "suppressionlist@simulator.amazonses.com": ["Bounce", "Send"]}
    ids = {}
    for a in addrs:
        mid = ses.send_email(
            FromEmailAddress=SENDER, Destination={"ToAddresses": [a]},
            Content={"Template": {"TemplateName": "SimpleEmail",
                                  "TemplateData": json.dumps({"first_name": "Bo", "unique_code": "u"})}},
            EmailTags=[{"Name": "campaign", "Value": "boto"}], ConfigurationSetName="load-test-config")["MessageId"]
        assert mid.startswith("0100") and mid.endswith("-000000")
        ids[mid] = a
    # Only SEND and BOUNCE go to the lake for boto-set.
    boto_set_id = ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
                                 Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
                                 ConfigurationSetName="boto-set")["MessageId"]
    # Rendering failure: 200 + event, no delivery.
    rf = ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
                        Content={"Template": {"TemplateName": "SimpleEmail", "TemplateData": "{}"}},
                        ConfigurationSetName="load-test-config")["MessageId"]
    # Raw is accepted and counted.
    ses.send_email(Content={"Raw": {"Data": b"From: sender@example.com\r\nTo: success@simulator.amazonses.com\r\n"
                                           b"Subject: raw\r\n\r\nhi\r\n"}})

    for kwargs, want in [
        (dict(TemplateData="{bad"), "BadRequestException"),
        (dict(TemplateData="{}", TemplateName="Nope"), "NotFoundException"),
    ]:
        tpl = {"TemplateName": "SimpleEmail", **kwargs}
        with pytest.raises(ClientError) as e:
            ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
                           Content={"Template": tpl})
        assert code(e.value) == want
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == (400 if want == "BadRequestException" else 404)
    with pytest.raises(ClientError) as e:
        ses.send_email(FromEmailAddress="x@not-verified.test", Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
                       Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})
    assert code(e.value) == "MessageRejected"
    assert "x@not-verified.test" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        ses.send_email(FromEmailAddress=SENDER,
                       Destination={"ToAddresses": [f"success+{i}@simulator.amazonses.com" for i in range(51)]},
                       Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})
    assert code(e.value) == "BadRequestException"

    msgs = sim.get("/_sim/messages")["messages"]
    assert len(msgs) == 8
    assert msgs[0]["subject"] == "Hello Bo" and msgs[0]["tags"] == {"campaign": "boto"}
    assert [m["status"] for m in msgs].count("rendering_failure") == 1
    stats = sim.get("/_sim/stats")
    assert stats["sent_messages"] == 8 and stats["rejected"] == 1 and stats["rendering_failures"] == 1

    ses.delete_configuration_set(ConfigurationSetName="boto-set")
    ses.delete_email_template(TemplateName="SimpleEmail")
    with pytest.raises(ClientError) as e:
        ses.get_email_template(TemplateName="SimpleEmail")
    assert code(e.value) == "NotFoundException"

    # SIGTERM: clean exit, every pending event written.
    assert sim.stop() == 0
    recs = sim.lake()
    by_msg: dict[str, list[str]] = {}
    for r in recs:
        assert set(r) == {"eventType", "mail", {"Send": "send", "Delivery": "delivery", "Bounce": "bounce",
                                                 "Complaint": "complaint", "Rendering Failure": "failure"}[r["eventType"]]}
        by_msg.setdefault(r["mail"]["messageId"], []).append(r["eventType"])
        m = r["mail"]
        for k in ("timestamp", "messageId", "source", "sourceArn", "sendingAccountId", "destination",
                  "headersTruncated", "headers", "commonHeaders", "tags"):
            assert k in m, k
        assert m["tags"]["ses:caller-identity"] == ["AKIDBOTO"]
    for mid, a in ids.items():
        assert sorted(by_msg[mid]) == addrs[a], a
        assert all(r["mail"]["tags"]["campaign"] == ["boto"] for r in recs if r["mail"]["messageId"] == mid)
    assert by_msg[boto_set_id] == ["Send"]
    assert by_msg[rf] == ["Rendering Failure"]
    counts = Counter(r["eventType"] for r in recs)
    assert counts == {"Send": 6, "Delivery": 3, "Bounce": 2, "Complaint": 1, "Rendering Failure": 1}


def test_throttling_and_sandbox(tmp_path):
    s = Sim(tmp_path, "--sandbox", "--max-send-rate", "5", "--latency-ms", "0", "--no-lake")
    try:
        ses = s.ses
        q = ses.get_account()
        assert q["SendQuota"]["MaxSendRate"] == 5 and q["SendQuota"]["Max24HourSend"] == 200
        assert q["ProductionAccessEnabled"] is False
        simple = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}
        with pytest.raises(ClientError) as e:
            ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["someone@gmail.com"]}, Content=simple)
        assert code(e.value) == "MessageRejected"
        time.sleep(1.1)

        def one(_):
            try:
                ses.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
                               Content=simple)
                return "ok"
            except ClientError as e:
                return f'{code(e)}:{e.response["ResponseMetadata"]["HTTPStatusCode"]}'

        t0 = time.monotonic()
        with ThreadPoolExecutor(20) as ex:
            burst = Counter(ex.map(one, range(40)))
        took = time.monotonic() - t0
        assert set(burst) == {"ok", "TooManyRequestsException:429"}, burst
        # A full bucket (5) plus what refilled while the burst lasted, never more.
        assert burst["ok"] <= 5 + 5 * took + 1, (burst, took)
        time.sleep(1.1)
        paced = []
        for _ in range(8):  # 4/s < 5/s
            paced.append(one(None))
            time.sleep(0.25)
        assert paced == ["ok"] * 8
    finally:
        s.stop()


def test_bad_flags_are_refused(tmp_path):
    p = subprocess.run([str(sesload_bin()), "sim", "--port", "0", "--fault-error-rate", "1.5"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "error_rate" in p.stderr and "1.5" in p.stderr


def status(e: ClientError) -> int:
    return e.response["ResponseMetadata"]["HTTPStatusCode"]


def single_attempt(sim: Sim):
    """A client that makes exactly one attempt per call (botocore retries throttling codes such as
    LimitExceededException and dropped connections otherwise, which would blur the counts)."""
    return boto3.client("sesv2", endpoint_url=sim.endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIDBOTO", aws_secret_access_key="secret",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def test_regimes_through_boto3(tmp_path):
    """Paused sending, suspension, IAM denial and a compressed daily window, as boto3 sees them."""
    s = Sim(tmp_path, "--max-send-rate", "0", "--max-24-hour-send", "3", "--daily-window-seconds", "2",
            "--latency-ms", "0", "--no-lake", "--allow-template", "Allowed*",
            "--configuration-set", "load-test-config", "--configuration-set", "other-set")
    try:
        ses = single_attempt(s)
        for name in ("Allowed1", "Other"):
            ses.create_email_template(TemplateName=name, TemplateContent={"Subject": "Hi {{n}}", "Text": "t"})
        sim_rcpt = {"ToAddresses": ["success@simulator.amazonses.com"]}  # exempt from the daily quota
        simple = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}

        def send(**kw):
            args = dict(FromEmailAddress=SENDER, Destination=sim_rcpt, Content=simple)
            args.update(kw)
            return ses.send_email(**args)["MessageId"]

        def refused(**kw) -> ClientError:
            with pytest.raises(ClientError) as e:
                send(**kw)
            return e.value

        # IAM: a template outside the policy is a 403 naming the resource.
        send(Content={"Template": {"TemplateName": "Allowed1", "TemplateData": '{"n": 1}'}})
        e = refused(Content={"Template": {"TemplateName": "Other", "TemplateData": '{"n": 1}'}})
        assert (code(e), status(e)) == ("AccessDeniedException", 403)
        assert e.response["Error"]["Message"] == (
            "User: arn:aws:sts::123456789012:assumed-role/sesload-sim/AKIDBOTO is not authorized to perform: "
            "ses:SendEmail on resource: arn:aws:ses:us-east-1:123456789012:template/Other "
            "because no identity-based policy allows the ses:SendEmail action")

        # Account-level pause through the SES operation.
        ses.put_account_sending_attributes(SendingEnabled=False)
        assert ses.get_account()["SendingEnabled"] is False
        e = refused()
        assert (code(e), status(e)) == ("SendingPausedException", 400)
        assert "account" in e.response["Error"]["Message"]
        ses.put_account_sending_attributes(SendingEnabled=True)
        assert ses.get_account()["SendingEnabled"] is True
        send()

        # Configuration-set pause: SES operation, /_sim switch to resume.
        ses.put_configuration_set_sending_options(ConfigurationSetName="other-set", SendingEnabled=False)
        assert ses.get_configuration_set(ConfigurationSetName="other-set")["SendingOptions"]["SendingEnabled"] is False
        e = refused(ConfigurationSetName="other-set")
        assert (code(e), status(e)) == ("SendingPausedException", 400)
        assert "configuration set other-set" in e.response["Error"]["Message"]
        send(ConfigurationSetName="load-test-config")
        assert s.post("/_sim/configuration-sets/other-set/sending", {"enabled": True}) == {"enabled": True}
        assert ses.get_configuration_set(ConfigurationSetName="other-set")["SendingOptions"]["SendingEnabled"] is True
        send(ConfigurationSetName="other-set")
        with pytest.raises(ClientError) as nf:
            ses.put_configuration_set_sending_options(ConfigurationSetName="nope", SendingEnabled=True)
        assert (code(nf.value), status(nf.value)) == ("NotFoundException", 404)

        # Account pause through /_sim, then suspension.
        s.post("/_sim/account/sending", {"enabled": False})
        assert ses.get_account()["SendingEnabled"] is False
        assert code(refused()) == "SendingPausedException"
        s.post("/_sim/account/sending", {"enabled": True})
        assert s.post("/_sim/account/suspension", {"suspended": True}) == {"suspended": True}
        assert ses.get_account()["EnforcementStatus"] == "SHUTDOWN"
        e = refused()
        assert (code(e), status(e)) == ("AccountSuspendedException", 400)
        s.post("/_sim/account/suspension", {"suspended": False})
        send()

        # Daily quota of 3 over a 2 s window: exhaust it, see it, regain it.
        ses.send_email(FromEmailAddress=SENDER, Content=simple,
                       Destination={"ToAddresses": ["a@example.org", "b@example.org", "c@example.org"]})
        assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 3
        e = refused(Destination={"ToAddresses": ["d@example.org"]})
        assert (code(e), status(e)) == ("LimitExceededException", 400)
        assert e.response["Error"]["Message"] == "Daily message quota exceeded."
        time.sleep(2.1)
        assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 0
        send(Destination={"ToAddresses": ["d@example.org"]})

        stats = s.get("/_sim/stats")
        assert (stats["access_denied"], stats["sending_paused"], stats["account_suspended"],
                stats["daily_quota_exceeded"], stats["client_errors"]) == (1, 3, 1, 1, 1)
        assert stats["requests"]["PutAccountSendingAttributes"] == 2
        assert stats["requests"]["PutConfigurationSetSendingOptions"] == 2
        s.post("/_sim/reset")
        stats = s.get("/_sim/stats")
        assert (stats["access_denied"], stats["sending_paused"], stats["account_suspended"]) == (0, 0, 0)
    finally:
        s.stop()


def test_drop_after_accept_is_a_transport_error_but_the_email_went_out(tmp_path):
    s = Sim(tmp_path, "--no-quota", "--latency-ms", "0", "--no-lake", "--fault-drop-after-accept-rate", "1")
    try:
        with pytest.raises(ConnectionClosedError):
            single_attempt(s).send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["someone@example.org"]},
                             Content={"Simple": {"Subject": {"Data": "maybe"}, "Body": {"Text": {"Data": "b"}}}})
        msgs = s.get("/_sim/messages")["messages"]
        assert [(m["to"], m["subject"]) for m in msgs] == [(["someone@example.org"], "maybe")]
        stats = s.get("/_sim/stats")
        assert (stats["dropped_after_accept"], stats["sent_messages"]) == (1, 1)
        # The simulator is still there for the next call (on a new connection).
        assert s.ses.get_account()["SendingEnabled"] is True
    finally:
        s.stop()


def test_help_documents_the_regime_flags():
    p = subprocess.run([str(sesload_bin()), "sim", "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    for flag in ("--daily-window-seconds", "--account-sending-paused", "--account-suspended", "--allow-identity",
                 "--allow-template", "--allow-configuration-set", "--fault-drop-after-accept-rate",
                 "/_sim/account/sending", "/_sim/account/suspension", "/_sim/configuration-sets/NAME/sending",
                 "--bulk-throttle", "--bulk-shared-errors", "--bulk-per-entry-ms",
                 "--fault-entry-transient-failure-rate", "--fault-entry-failure-rate", "SendBulkEmail"):
        assert flag in p.stdout, flag


SIM_DOMAIN = "simulator.amazonses.com"
BULK_TEMPLATE = {"Subject": "Hi {{name}}", "Text": "{{greeting}} {{name}}, code {{code}}"}


def bulk_entry(*to: str, data: dict | None = None, tags: dict | None = None) -> dict:
    e: dict = {"Destination": {"ToAddresses": list(to)}}
    if data is not None:
        e["ReplacementEmailContent"] = {"ReplacementTemplate": {"ReplacementTemplateData": json.dumps(data)}}
    if tags:
        e["ReplacementTags"] = [{"Name": k, "Value": v} for k, v in tags.items()]
    return e


def bulk_results(out: dict) -> list[tuple[str, str | None, str | None]]:
    return [(r["Status"], r.get("Error"), r.get("MessageId")) for r in out["BulkEmailEntryResults"]]


def test_bulk_entries_and_statuses_through_boto3(tmp_path):
    """SendBulkEmail from boto3: personalised entries, per-entry statuses (rate per entry by default),
    each accepted entry its own message with its own events and merged tags in the lake."""
    s = Sim(tmp_path, "--max-send-rate", "3", "--max-24-hour-send", "100", "--latency-ms", "0",
            "--delivery-delay-ms-min", "0", "--delivery-delay-ms-max", "0", "--roll-ms", "100")
    try:
        ses = single_attempt(s)
        ses.create_email_template(TemplateName="Offer", TemplateContent=BULK_TEMPLATE)
        out = ses.send_bulk_email(
            FromEmailAddress=SENDER, ConfigurationSetName="load-test-config",
            DefaultContent={"Template": {"TemplateName": "Offer",
                                         "TemplateData": json.dumps({"greeting": "Hello", "name": "friend",
                                                                     "code": "none"})}},
            DefaultEmailTags=[{"Name": "campaign", "Value": "c1"}, {"Name": "kind", "Value": "promo"}],
            BulkEmailEntries=[
                bulk_entry(f"success@{SIM_DOMAIN}", data={"name": "Ann", "code": "A1"}, tags={"campaign": "c2"}),
                bulk_entry(f"bounce@{SIM_DOMAIN}", data={"name": "Bob"}, tags={"user": "u1"}),
                bulk_entry("not an address"),
                bulk_entry("carl@example.org"),
                bulk_entry("dan@example.org", data={"name": "Dan"}),
            ])
        res = bulk_results(out)
        assert [r[0] for r in res] == ["SUCCESS", "SUCCESS", "INVALID_PARAMETER", "SUCCESS", "ACCOUNT_THROTTLED"]
        assert "not an address" in res[2][1] and res[2][2] is None
        assert res[4][1] == "Maximum sending rate exceeded." and res[4][2] is None
        ids = [res[i][2] for i in (0, 1, 3)]
        assert len(set(ids)) == 3 and all(ids)

        msgs = s.get("/_sim/messages")["messages"]
        assert [m["messageId"] for m in msgs] == ids
        assert [(m["subject"], m["text"]) for m in msgs] == [
            ("Hi Ann", "Hello Ann, code A1"), ("Hi Bob", "Hello Bob, code none"),
            ("Hi friend", "Hello friend, code none")]
        assert [m["tags"] for m in msgs] == [
            {"campaign": "c2", "kind": "promo"}, {"campaign": "c1", "kind": "promo", "user": "u1"},
            {"campaign": "c1", "kind": "promo"}]

        s.post("/_sim/flush?all=true")
        by_msg: dict[str, list[str]] = {}
        for r in s.lake():
            by_msg.setdefault(r["mail"]["messageId"], []).append(r["eventType"])
            if r["mail"]["messageId"] == ids[0]:
                assert r["mail"]["tags"]["campaign"] == ["c2"] and r["mail"]["tags"]["kind"] == ["promo"]
        assert sorted(by_msg[ids[0]]) == ["Delivery", "Send"]
        assert sorted(by_msg[ids[1]]) == ["Bounce", "Send"]
        assert sorted(by_msg[ids[2]]) == ["Delivery", "Send"]
        assert len(by_msg) == 3

        stats = s.get("/_sim/stats")
        assert (stats["bulk_calls"], stats["bulk_entries"], stats["sent_messages"]) == (1, 5, 3)
        assert {k: v for k, v in stats["bulk_entry_statuses"].items() if v} == {
            "SUCCESS": 3, "INVALID_PARAMETER": 1, "ACCOUNT_THROTTLED": 1}
        assert stats["requests"]["SendBulkEmail"] == 1 and stats["throttled"] == 0
    finally:
        s.stop()


def test_bulk_modes_limits_and_entry_faults_through_boto3(tmp_path):
    """`--bulk-throttle call` (a 429 for the whole call), `--bulk-shared-errors entries` (a paused account
    reported per entry), the entry limit, and the entry-level fault flag."""
    a = tmp_path / "a"
    a.mkdir()
    s = Sim(a, "--max-send-rate", "2", "--max-24-hour-send", "100", "--latency-ms", "0", "--no-lake",
            "--bulk-throttle", "call", "--bulk-shared-errors", "entries")
    try:
        ses = single_attempt(s)
        ses.create_email_template(TemplateName="Offer", TemplateContent=BULK_TEMPLATE)

        def send(*entries: dict) -> dict:
            return ses.send_bulk_email(
                FromEmailAddress=SENDER,
                DefaultContent={"Template": {"TemplateName": "Offer",
                                             "TemplateData": '{"greeting": "Hi", "name": "x", "code": "c"}'}},
                BulkEmailEntries=list(entries))

        ses.put_account_sending_attributes(SendingEnabled=False)
        out = send(bulk_entry("a@example.org"), bulk_entry("b@example.org"))
        assert [r[0] for r in bulk_results(out)] == ["ACCOUNT_SENDING_PAUSED"] * 2
        assert "Sending paused for this account" in bulk_results(out)[0][1]
        ses.put_account_sending_attributes(SendingEnabled=True)

        # Three entries take a full bucket of 2 as one 3-recipient message would; the next call,
        # well within the second it takes to refill, is refused as a whole.
        out = send(*(bulk_entry(f"u{i}@example.org") for i in range(3)))
        assert [r[0] for r in bulk_results(out)] == ["SUCCESS"] * 3
        with pytest.raises(ClientError) as e:
            send(bulk_entry("v@example.org"))
        assert (code(e.value), status(e.value)) == ("TooManyRequestsException", 429)

        with pytest.raises(ClientError) as e:
            send(*(bulk_entry(f"w{i}@example.org") for i in range(51)))
        assert (code(e.value), status(e.value)) == ("BadRequestException", 400)
        assert "51 entries; at most 50" in e.value.response["Error"]["Message"]

        stats = s.get("/_sim/stats")
        assert (stats["bulk_calls"], stats["throttled"], stats["sent_messages"], stats["sending_paused"]) == (2, 1, 3, 0)
        assert stats["bulk_entry_statuses"]["ACCOUNT_SENDING_PAUSED"] == 2
    finally:
        s.stop()

    b = tmp_path / "b"
    b.mkdir()
    s = Sim(b, "--no-quota", "--latency-ms", "0", "--no-lake", "--fault-entry-transient-failure-rate", "1")
    try:
        ses = single_attempt(s)
        ses.create_email_template(TemplateName="Offer", TemplateContent=BULK_TEMPLATE)
        out = ses.send_bulk_email(
            FromEmailAddress=SENDER,
            DefaultContent={"Template": {"TemplateName": "Offer", "TemplateData": '{"greeting": "Hi", "code": 1}'}},
            BulkEmailEntries=[bulk_entry("a@example.org", data={"name": "A"}), bulk_entry("b@example.org")])
        assert [r[0] for r in bulk_results(out)] == ["TRANSIENT_FAILURE"] * 2
        assert s.get("/_sim/messages")["messages"] == []
    finally:
        s.stop()

"""Contracts between the Terraform stack and the rest of the repository.

The settings (Terraform variables, the poller module's environment, the env-var lists the Terraform
tests assert, `sesload.toml`) are checked against the Rust settings table in one place:
`cargo test -p sesload-core --test settings`. Here:

- The seeder reads CUSTOMERS_TABLE only; `terraform.tfvars.example` sets only root variables.
- The Glue table `ses_events` (Firehose's Parquet schema, Athena's table) has the same columns,
  partition keys and projection as `sql/ddl/ses_events.sql`, the SQL single source, and the local
  DuckDB definition (`sql/local/ses_events.sql`) reads the SES records into the same columns.
- The Athena views Terraform creates from `sql/views` declare the columns DuckDB computes for the
  same view.
- The checkov skip reasons say which key encrypts a resource, as its configuration does.

The Terraform side is parsed from the files; nothing here runs terraform or cargo. The DuckDB side
runs the repository's SQL with the Python `duckdb` module (requirements.txt).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import hcl2  # installed with checkov (bc-python-hcl2)
import pytest

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
ANALYTICS_MAIN = TF / "modules/analytics/main.tf"
DDL = REPO / "sql/ddl/ses_events.sql"
SQL = REPO / "sql"


# --- parsing helpers ------------------------------------------------------------------------


# bc-python-hcl2 (checkov's fork) wraps every attribute value in a one-element list;
# python-hcl2 does not. Detect which one is installed once.
_WRAPS = hcl2.loads('a = "x"\n')["a"] == ["x"]


def attr(value):
    """An attribute's value, whichever hcl2 flavour parsed it."""
    return value[0] if _WRAPS else value


def hcl_locals(path: Path) -> dict:
    with path.open() as f:
        doc = hcl2.load(f)
    merged: dict = {}
    for block in doc.get("locals", []):
        merged.update({k: attr(v) for k, v in block.items() if not k.startswith("__")})
    return merged


def hcl_resource(path: Path, rtype: str, name: str) -> dict:
    with path.open() as f:
        doc = hcl2.load(f)
    for block in doc.get("resource", []):
        if rtype in block and name in block[rtype]:
            return block[rtype][name]
    raise AssertionError(f"{rtype}.{name} not found in {path}")


def hcl_module(path: Path, name: str) -> dict:
    with path.open() as f:
        doc = hcl2.load(f)
    for block in doc.get("module", []):
        if name in block:
            return block[name]
    raise AssertionError(f"module {name} not found in {path}")


def split_top_level(s: str, sep: str = ",") -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p.strip() for p in parts]


def norm_type(t: str) -> str:
    return re.sub(r"\s+", "", t.replace("`", "")).lower()


def strip_sql_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def ddl_parts() -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, str]]:
    sql = strip_sql_comments(DDL.read_text())
    start = re.search(r"CREATE\s+EXTERNAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\S+\s*\(", sql, re.I)
    assert start, f"no CREATE EXTERNAL TABLE in {DDL}"
    i, depth = start.end(), 1
    while depth:
        depth += {"(": 1, ")": -1}.get(sql[i], 0)
        i += 1
    cols_src, rest = sql[start.end() : i - 1], sql[i:]

    def pairs(src: str) -> list[tuple[str, str]]:
        out = []
        for col in split_top_level(src):
            name, typ = col.split(None, 1)
            out.append((name.strip("`").lower(), norm_type(typ)))
        return out

    part = re.search(r"PARTITIONED\s+BY\s*\((.*?)\)", rest, re.I | re.S)
    assert part, "no PARTITIONED BY in the DDL"
    props = dict(re.findall(r"'([^']+)'\s*=\s*'([^']*)'", rest.split("TBLPROPERTIES", 1)[1]))
    return pairs(cols_src), pairs(part.group(1)), props


# --- tests ----------------------------------------------------------------------------------


def test_seeder_reads_customers_table_only():
    seeder = hcl_module(TF / "modules/customers/main.tf", "seeder")
    assert attr(seeder["source"]) == "../lambda_function"
    assert list(attr(seeder["environment"])) == ["CUSTOMERS_TABLE"]


def test_glue_table_matches_sql_ddl():
    ddl_cols, ddl_parts_keys, ddl_props = ddl_parts()
    tf_cols = [(c["name"], norm_type(c["type"])) for c in hcl_locals(ANALYTICS_MAIN)["columns"]]
    assert [n for n, _ in tf_cols] == [n for n, _ in ddl_cols]
    for (name, tf_type), (_, ddl_type) in zip(tf_cols, ddl_cols):
        assert tf_type == ddl_type, f"column {name}: terraform {tf_type} != sql/ddl {ddl_type}"

    table = hcl_resource(ANALYTICS_MAIN, "aws_glue_catalog_table", "ses_events")
    tf_parts = [(attr(k["name"]), norm_type(attr(k["type"]))) for k in table["partition_keys"]]
    assert tf_parts == ddl_parts_keys

    locals_ = hcl_locals(ANALYTICS_MAIN)
    assert attr(table["parameters"]) == "${local.projection_parameters}"
    tf_props = locals_["projection_parameters"]
    for key, value in ddl_props.items():
        if not key.startswith("projection.") and key != "parquet.compression":
            continue
        if key == "projection.dt.range":
            # Terraform's range: partition_projection_start,NOW (the DDL names a fixed start).
            assert value.endswith(",NOW") and tf_props[key] == "${var.partition_projection_start},NOW"
            continue
        assert tf_props.get(key) == value, f"{key}: terraform {tf_props.get(key)!r} != sql/ddl {value!r}"

    # storage.location.template: same layout once the bucket is substituted.
    tf_template = (
        tf_props["storage.location.template"]
        .replace("${aws_s3_bucket.events.bucket}", "YOUR-EVENTS-BUCKET")
        .replace("${local.events_prefix}", locals_["events_prefix"])
        .replace("$${", "${")
    )
    assert tf_template == ddl_props["storage.location.template"]


def test_firehose_prefix_matches_projection_layout():
    locals_ = hcl_locals(ANALYTICS_MAIN)
    prefix = locals_["firehose_prefix"].replace("${local.events_prefix}", locals_["events_prefix"])
    assert prefix == "ses_events/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"
    _, _, ddl_props = ddl_parts()
    assert ddl_props["projection.dt.format"] == "yyyy-MM-dd"
    assert ddl_props["projection.hour.digits"] == "2"


def test_tfvars_example_sets_only_declared_root_variables():
    with (TF / "variables.tf").open() as f:
        declared = {name for block in hcl2.load(f)["variable"] for name in block}
    with (TF / "terraform.tfvars.example").open() as f:
        example = {k for k in hcl2.load(f) if not k.startswith("__")}
    assert example, "terraform.tfvars.example sets nothing"
    assert example <= declared, f"undeclared variables in the example: {sorted(example - declared)}"
    assert "sender_identity" in example, "the one required variable must be in the example"


def description(spec: dict) -> str:
    value = spec.get("description")
    return "" if value is None else str(attr(value)).strip()


MODULES = sorted(p for p in (TF / "modules").iterdir() if p.is_dir())


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_layout_variables_and_outputs_are_documented(module):
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (module / name).is_file(), f"{module.name}/{name} is missing"
    with (module / "variables.tf").open() as f:
        variables = {k: v for block in hcl2.load(f)["variable"] for k, v in block.items()}
    assert variables
    validated = 0
    for name, spec in variables.items():
        assert "type" in spec, f"{module.name}: variable {name} has no type"
        assert description(spec), f"{module.name}: variable {name} has no description"
        validated += "validation" in spec
    # Every module validates its inputs (free-form names, URLs and tags may stay unvalidated).
    assert validated >= len(variables) // 2, f"{module.name}: only {validated}/{len(variables)} variables validated"
    with (module / "outputs.tf").open() as f:
        outputs = {k: v for block in hcl2.load(f)["output"] for k, v in block.items()}
    assert outputs
    for name, spec in outputs.items():
        assert description(spec), f"{module.name}: output {name} has no description"
    with (module / "versions.tf").open() as f:
        text = f.read()
    assert 'version = "~> 5.100"' in text, f"{module.name}: provider not pinned to ~> 5.100"


# --- DuckDB (local lake) against Glue ---------------------------------------------------------

_DUCK_SCALARS = {"VARCHAR": "string", "BIGINT": "bigint", "BOOLEAN": "boolean", "INTEGER": "int", "DOUBLE": "double"}


def duck_to_hive(t: str) -> str:
    """A DuckDB type as DESCRIBE prints it, written as a Hive/Glue type (struct<a:string,...>)."""

    def parse(i: int) -> tuple[str, int]:
        if t.startswith("STRUCT(", i):
            i += len("STRUCT(")
            fields = []
            while t[i] != ")":
                if t[i] == '"':
                    end = t.index('"', i + 1)
                    name, i = t[i + 1 : end], end + 1
                else:
                    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", t[i:])
                    name, i = m.group(0), i + m.end()
                assert t[i] == " ", t[i:]
                typ, i = parse(i + 1)
                fields.append(f"{name.lower()}:{typ}")
                if t.startswith(", ", i):
                    i += 2
            out, i = f"struct<{','.join(fields)}>", i + 1
        elif t.startswith("MAP(", i):
            key, i = parse(i + len("MAP("))
            assert t.startswith(", ", i), t[i:]
            value, i = parse(i + 2)
            assert t[i] == ")", t[i:]
            out, i = f"map<{key},{value}>", i + 1
        else:
            m = re.match(r"[A-Z]+", t[i:])
            out, i = _DUCK_SCALARS[m.group(0)], i + m.end()
        while t.startswith("[]", i):
            out, i = f"array<{out}>", i + 2
        return out, i

    out, end = parse(0)
    assert end == len(t), f"unparsed {t[end:]!r} in {t!r}"
    return out


def sesv2_event(event_type: str, message_id: str, detail_key: str | None, detail: dict | None) -> dict:
    """An SES event-publishing record, camelCase as SES writes it."""
    record = {
        "eventType": event_type,
        "mail": {
            "timestamp": "2026-11-27T10:00:00.000Z", "source": "sender@example.com",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
            "sendingAccountId": "123456789012", "messageId": message_id,
            "destination": ["success@simulator.amazonses.com"], "headersTruncated": False,
            "headers": [{"name": "From", "value": "sender@example.com"}],
            "commonHeaders": {"from": ["sender@example.com"], "to": ["success@simulator.amazonses.com"],
                              "messageId": message_id, "subject": "Hello"},
            "tags": {"campaign": ["c1"], "ses:configuration-set": ["sesload-config"]},
        },
    }
    if detail_key:
        record[detail_key] = detail
    return record


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    """DuckDB with the local prelude, ses_events and the views, over a lake that
    holds a Send, an Open and a Click event."""
    lake = tmp_path_factory.mktemp("lake")
    part = lake / "ses_events" / "dt=2026-11-27" / "hour=10"
    part.mkdir(parents=True)
    records = [
        sesv2_event("Send", "m-1", "send", {}),
        sesv2_event("Open", "m-1", "open", {
            "ipAddress": "192.0.2.1", "timestamp": "2026-11-27T10:01:00.000Z", "userAgent": "Mozilla/5.0 (open)"}),
        sesv2_event("Click", "m-1", "click", {
            "ipAddress": "192.0.2.2", "link": "https://example.com/offer",
            "linkTags": {"placement": ["header"]}, "timestamp": "2026-11-27T10:02:00.000Z",
            "userAgent": "Mozilla/5.0 (click)"}),
    ]
    (part / "0.json").write_text("".join(json.dumps(r) + "\n" for r in records))
    con = duckdb.connect()
    con.execute(f"SET VARIABLE lake = '{lake}'")
    con.execute((SQL / "local/prelude.sql").read_text())
    con.execute((SQL / "local/ses_events.sql").read_text())
    for view in sorted((SQL / "views").glob("*.sql")):
        con.execute(view.read_text())
    return con


def describe(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(name, typ) for name, typ, *_ in con.execute(f"DESCRIBE {relation}").fetchall()]


@pytest.mark.parametrize("relation", ["ses_events"])
def test_local_duckdb_table_has_the_glue_columns(local_lake, relation):
    glue = [(c["name"], norm_type(c["type"])) for c in hcl_locals(ANALYTICS_MAIN)["columns"]]
    ddl_cols, ddl_part_keys, _ = ddl_parts()
    local = [(name, duck_to_hive(typ)) for name, typ in describe(local_lake, relation)]
    assert local == glue + ddl_part_keys, "sql/local/ses_events.sql drifted from the Glue table / sql/ddl"
    assert [n for n, _ in ddl_cols] == [n for n, _ in glue]


def test_local_lake_reads_open_and_click_events(local_lake):
    rows = local_lake.execute(
        "SELECT eventtype, open.useragent, open.ipaddress, open.timestamp, click.link, "
        "element_at(element_at(click.linktags, 'placement'), 1), click.useragent "
        "FROM ses_events ORDER BY eventtype"
    ).fetchall()
    assert rows == [
        ("Click", None, None, None, "https://example.com/offer", "header", "Mozilla/5.0 (click)"),
        ("Open", "Mozilla/5.0 (open)", "192.0.2.1", "2026-11-27T10:01:00.000Z", None, None, None),
        ("Send", None, None, None, None, None, None),
    ]


def test_athena_view_columns_are_what_the_view_computes(local_lake):
    declared = hcl_locals(ANALYTICS_MAIN)["view_columns"]
    views = sorted(p.stem for p in (SQL / "views").glob("*.sql"))
    assert sorted(declared) == views, "every sql/views file needs a column list in modules/analytics"
    for view in views:
        local = [(name, duck_to_hive(typ)) for name, typ in describe(local_lake, view)]
        assert [(c["name"], c["type"]) for c in declared[view]] == local, f"view {view}: Terraform's columns drifted"


# --- checkov skip reasons -----------------------------------------------------------------------


def resource_blocks(path: Path):
    """(type, name, text) of every top-level resource block of a .tf file."""
    text = path.read_text()
    for m in re.finditer(r'^resource "([^"]+)" "([^"]+)" \{\n(.*?)^\}', text, re.M | re.S):
        yield m.group(1), m.group(2), m.group(3)


def test_encryption_skip_reasons_name_the_key_in_use():
    checked = 0
    for tf in sorted(TF.rglob("*.tf")):
        for rtype, name, body in resource_blocks(tf):
            reasons = " ".join(re.findall(r"checkov:skip=[A-Z0-9_]+:(.*)", body))
            if rtype == "aws_dynamodb_table":
                sse = re.search(r"server_side_encryption \{(.*?)\}", body, re.S)
                assert sse and re.search(r"enabled\s*=\s*true", sse.group(1)), f"{name}: SSE block missing"
                # enabled = true without kms_key_arn = the AWS managed key aws/dynamodb (KMS);
                # enabled = false would be the AWS owned key.
                assert "kms_key_arn" not in sse.group(1)
                assert "AWS managed" in reasons and "AWS owned" not in reasons, f"{tf}: {rtype}.{name}: {reasons}"
                checked += 1
            if rtype == "aws_kinesis_firehose_delivery_stream" and 'key_type = "AWS_OWNED_CMK"' in body:
                assert "AWS owned" in reasons and "AWS managed" not in reasons, f"{tf}: {rtype}.{name}: {reasons}"
                checked += 1
    assert checked >= 3

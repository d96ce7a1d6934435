"""Contracts between the Terraform stack and the rest of the repository.

- The poller module sets exactly the environment variables the Rust poller reads
  (`crates/core/src/config.rs` `ENV_VARS`), and the Terraform tests assert that same list.
- The Glue table `ses_events` (Firehose's Parquet schema, Athena's table) has the same columns,
  partition keys and projection as `sql/ddl/ses_events.sql`, the SQL single source.

Both sides are parsed from the files; nothing here runs terraform or cargo.
"""

from __future__ import annotations

import re
from pathlib import Path

import hcl2  # installed with checkov (bc-python-hcl2)
import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG_RS = REPO / "crates/core/src/config.rs"
TF = REPO / "terraform"
POLLER_MAIN = TF / "modules/poller/main.tf"
ANALYTICS_MAIN = TF / "modules/analytics/main.tf"
DDL = REPO / "sql/ddl/ses_events.sql"


# --- parsing helpers ------------------------------------------------------------------------


def rust_env_vars() -> list[str]:
    """Names in `pub const ENV_VARS: &[(&str, Option<&str>, &str)] = &[ ... ];`."""
    src = CONFIG_RS.read_text()
    m = re.search(r"pub const ENV_VARS\b[^=]*=\s*&\[(.*?)\n\];", src, re.S)
    assert m, f"ENV_VARS not found in {CONFIG_RS}"
    body = m.group(1)
    names = re.findall(r'\(\s*"([A-Z][A-Z0-9_]*)"\s*,', body)
    # Every tuple must have been recognised: count the tuple openings independently.
    tuples = len(re.findall(r"^\s*\(\s*$|^\s*\(\s*\"", body, re.M))
    assert names and len(names) == tuples, f"parsed {names} from {tuples} tuples in ENV_VARS"
    assert len(names) == len(set(names)), f"duplicate names in ENV_VARS: {names}"
    return names


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


def tftest_env_lists(path: Path) -> list[list[str]]:
    """The literal env-var lists the Terraform tests assert (toset([...]) / sort([...]) with QUEUE_URL)."""
    text = path.read_text()
    lists = []
    for m in re.finditer(r"(?:toset|sort)\(\[(\s*\"QUEUE_URL\".*?)\]\)", text, re.S):
        lists.append(re.findall(r'"([A-Z][A-Z0-9_]*)"', m.group(1)))
    return lists


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


def test_poller_module_sets_exactly_the_rust_env_vars():
    rust = rust_env_vars()
    env = hcl_locals(POLLER_MAIN)["environment"]
    tf = list(env.keys())
    assert sorted(tf) == sorted(rust), (
        f"missing in Terraform: {sorted(set(rust) - set(tf))}; "
        f"not read by the poller: {sorted(set(tf) - set(rust))}"
    )


def test_poller_lambda_environment_comes_from_that_map():
    # The function's environment must be the checked map, not a second hand-written one.
    src = POLLER_MAIN.read_text()
    block = re.search(r"environment\s*\{\s*variables\s*=\s*([^\n]+)\n", src)
    assert block and block.group(1).strip() == "local.environment"


@pytest.mark.parametrize("tftest", ["poller.tftest.hcl", "root.tftest.hcl"])
def test_terraform_tests_assert_the_same_names(tftest):
    lists = tftest_env_lists(TF / "tests" / tftest)
    assert lists, f"no env-var list found in {tftest}"
    for names in lists:
        assert sorted(names) == sorted(rust_env_vars()), f"{tftest} asserts a stale list: {names}"


def test_seeder_reads_customers_table_only():
    seeder = hcl_resource(TF / "modules/customers/main.tf", "aws_lambda_function", "seeder")
    variables = attr(seeder["environment"][0]["variables"])
    assert list(variables) == ["CUSTOMERS_TABLE"]


def test_glue_table_matches_sql_ddl():
    ddl_cols, ddl_parts_keys, ddl_props = ddl_parts()
    tf_cols = [(c["name"], norm_type(c["type"])) for c in hcl_locals(ANALYTICS_MAIN)["columns"]]
    assert [n for n, _ in tf_cols] == [n for n, _ in ddl_cols]
    for (name, tf_type), (_, ddl_type) in zip(tf_cols, ddl_cols):
        assert tf_type == ddl_type, f"column {name}: terraform {tf_type} != sql/ddl {ddl_type}"

    table = hcl_resource(ANALYTICS_MAIN, "aws_glue_catalog_table", "ses_events")
    tf_parts = [(attr(k["name"]), norm_type(attr(k["type"]))) for k in table["partition_keys"]]
    assert tf_parts == ddl_parts_keys

    tf_props = attr(table["parameters"])
    for key, value in ddl_props.items():
        if not key.startswith("projection.") and key != "parquet.compression":
            continue
        if key == "projection.dt.range":
            assert tf_props[key].endswith(",NOW") and value.endswith(",NOW")
            continue
        assert tf_props.get(key) == value, f"{key}: terraform {tf_props.get(key)!r} != sql/ddl {value!r}"

    # storage.location.template: same layout once the bucket is substituted.
    locals_ = hcl_locals(ANALYTICS_MAIN)
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

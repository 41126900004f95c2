# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The reconciler's one runner (plugins/module_utils/reconcile/runner.py): its option schema is the module's
argument_spec and the CLI's options, its validation, and the run -> repair -> summarize -> write sequence (with a
fake engine; the real one runs in tests/integration/reconcile)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import pathlib

import pytest
import yaml

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import outputs, runner

ROOT = pathlib.Path(__file__).resolve().parents[3]
SRC = {"engine": "postgresql", "host": "pg-src", "database": "shop", "user": "r", "password": "s3cret"}
DST = {"engine": "postgresql", "host": "pg-dst", "database": "shop", "user": "r"}


def cli_module():
    loader = importlib.machinery.SourceFileLoader("sluice_reconcile_cli", str(ROOT / "scripts" / "sluice-reconcile"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def values(**kw):
    return dict({"source": SRC, "target": DST, "tables": ["dbo.orders"]}, **kw)


# --- one schema -------------------------------------------------------------------------------------------------
def test_module_documentation_matches_the_schema():
    from ansible_collections.sluice.cdc.plugins.modules import reconcile as mod
    doc = yaml.safe_load(mod.DOCUMENTATION)["options"]
    spec = runner.argument_spec()
    assert set(doc) == set(spec) == {o.name for o in runner.OPTIONS}
    for name, option in spec.items():
        assert doc[name].get("default") == option.get("default"), name
        assert doc[name].get("type") == option["type"], name


def test_cli_options_come_from_the_schema():
    cli = cli_module()
    parser_defaults = vars(cli.parse_args([]))
    for option in runner.OPTIONS:
        if option.flag:
            assert option.name in parser_defaults and parser_defaults[option.name] is None, option.name
    args = cli.parse_args(["--buckets", "8", "--recheck-delay", "1.5", "--nfc", "--json", "r.json",
                           "--tables", "dbo.a,dbo.b", "--repair", "direct"])
    assert (args.buckets, args.recheck_delay, args.nfc, args.json_path) == (8, 1.5, True, "r.json")
    params = runner.resolve(values(tables=args.tables, repair=args.repair, buckets=args.buckets))
    assert params["tables"] == ["dbo.a", "dbo.b"] and params["repair"] == ["direct"] and params["mode"] == "full"
    assert set(runner.CONFIG_KEYS) == {o.name for o in runner.OPTIONS} - {"fail_on_differences"}


def test_defaults_are_filled_and_connections_normalized():
    params = runner.resolve(values())
    assert {k: params[k] for k in ("mode", "buckets", "workers", "split", "recheck_delay", "max_keys", "nfc",
                                   "repair", "signal_table", "fail_on_differences", "json_path")} == {
        "mode": "checksum", "buckets": 1024, "workers": 2, "split": 1, "recheck_delay": 0.0, "max_keys": 1000,
        "nfc": False, "repair": [], "signal_table": "dbo.debezium_signal", "fail_on_differences": 0,
        "json_path": None}
    assert params["source"]["port"] == 5432 and params["target"]["connect_timeout"] == 30
    assert runner.resolve(params) == params  # idempotent
    defaults = runner.defaults()
    defaults["repair"].append("x")
    assert runner.defaults()["repair"] == []


def test_validate_tables():
    params = runner.resolve(values(tables=[" dbo.a ", {"source": "dbo.b", "target": "cdc.b", "key": ["id"]}]))
    assert params["tables"] == ["dbo.a", {"source": "dbo.b", "target": "cdc.b", "key": ["id"]}]
    assert runner.resolve(values(tables="dbo.a, dbo.b ,"))["tables"] == ["dbo.a", "dbo.b"]


def test_types_are_coerced_from_config_text():
    params = runner.resolve(values(buckets="16", recheck_delay=2, nfc="yes", repair="signal, direct", mode="full"))
    assert (params["buckets"], params["recheck_delay"], params["nfc"], params["repair"]) == (16, 2.0, True,
                                                                                             ["signal", "direct"])


@pytest.mark.parametrize("overrides, message", [
    ({"tables": []}, "no tables"),
    ({"tables": [{"target": "x"}]}, "needs a source"),
    ({"tables": [3]}, "a table is a name"),
    ({"tables": ["  "]}, "a table is a name"),
    ({"buckets": 0}, "at least 1"),
    ({"workers": 0}, "at least 1"),
    ({"split": 0}, "at least 1"),
    ({"max_keys": -1}, "must not be negative"),
    ({"recheck_delay": -1.0}, "must not be negative"),
    ({"fail_on_differences": -2}, "fail_on_differences"),
    ({"repair": ["direct"], "mode": "checksum"}, "repair needs mode full"),
    ({"repair": ["magic"]}, "unknown method(s) magic"),
    ({"mode": "fast"}, "mode must be one of"),
    ({"buckets": "many"}, "buckets must be of type int"),
    ({"buckets": True}, "buckets must be of type int"),
    ({"recheck_delay": False}, "recheck_delay must be of type float"),
    ({"nfc": "perhaps"}, "nfc must be of type bool"),
    ({"tables": {"a": 1}}, "tables must be a list"),
    ({"signal_table": ["a"]}, "signal_table must be a string"),
    ({"source": "pg"}, "source must be a mapping"),
    ({"source": None}, "source is required"),
    ({"target": dict(DST, port=70000)}, "out of range"),
    ({"colour": "blue"}, "unknown option(s): colour"),
])
def test_validation_errors(overrides, message):
    with pytest.raises(runner.OptionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        runner.resolve(values(**overrides))


def test_check_config(tmp_path):
    path = tmp_path / "reconcile.yml"
    path.write_text(yaml.safe_dump(values(mode="full", metrics_path="/x/m.prom", tables=[
        {"source": "dbo.customers", "target": "cdc.customers"}])))
    params = runner.check_config(str(path))
    assert params["mode"] == "full" and params["metrics_path"] == "/x/m.prom"
    path.write_text(yaml.safe_dump(values(fail_on_differences=1)))
    with pytest.raises(runner.OptionError, match="unknown: fail_on_differences"):
        runner.check_config(str(path))
    path.write_text("- a list\n")
    with pytest.raises(runner.OptionError, match="must be a mapping"):
        runner.check_config(str(path))
    path.write_text(yaml.safe_dump(values(workers=0)))
    with pytest.raises(runner.OptionError, match="at least 1"):
        runner.check_config(str(path))


# --- the sequence -------------------------------------------------------------------------------------------------
def table(name, status="consistent", **kw):
    t = {"table": name, "target_table": "cdc." + name.split(".")[-1], "mode": "full", "status": status,
         "key_columns": ["id"], "columns": ["name"], "rows_source": 5, "rows_target": 5, "buckets_compared": 4,
         "buckets_differing": 0, "missing_in_target": [], "extra_in_target": [], "different": [],
         "missing_in_target_count": 0, "extra_in_target_count": 0, "different_count": 0, "truncated": False,
         "rechecked_resolved": 0, "errors": [], "seconds": 0.1}
    t.update(kw)
    return t


def engine_report(*tables):
    return outputs.merge_reports([{"totals": {"tables": 1, t["status"]: 1}, "tables": [t]} for t in tables], "full", 4)


@pytest.fixture
def fake_engine(monkeypatch):
    by_table, calls = {}, []

    def reconcile(source, target, tables, **options):
        calls.append((tables, options))
        (name,) = tables
        result = by_table[name if isinstance(name, str) else name["source"]]
        if isinstance(result, Exception):
            raise result
        return engine_report(result)

    monkeypatch.setattr(runner.engine, "reconcile", reconcile)
    return by_table, calls


def test_run_writes_every_report_in_table_order(fake_engine, tmp_path):
    by_table, calls = fake_engine
    by_table.update({"dbo.a": table("dbo.a"), "dbo.b": table("dbo.b", "different", different_count=1,
                                                                different=[{"key": [7], "columns": {}}])})
    paths = {k: str(tmp_path / f"r.{k}") for k in ("json_path", "html_path", "metrics_path")}
    done = []
    outcome = runner.run(values(tables=["dbo.a", {"source": "dbo.b"}], mode="full", workers=2, **paths),
                         table_done=lambda t, n, total: done.append((t["table"], total)))
    assert outcome.exit_status == 1 and not outcome.changed and outcome.write_error is None
    assert [t["table"] for t in outcome.report["tables"]] == ["dbo.a", "dbo.b"]
    assert sorted(done) == [("dbo.a", 2), ("dbo.b", 2)]
    assert all(options["workers"] == 1 and options["mode"] == "full" for _, options in calls)
    assert outcome.files == [paths["json_path"], paths["html_path"], paths["metrics_path"]]
    doc = json.loads(open(paths["json_path"]).read())
    assert doc["tables"][1]["different"][0]["key"] == [7] and doc["run"]["tables"][0] == "dbo.a"
    assert "sluice_reconcile_exit_status 1" in open(paths["metrics_path"]).read()
    assert runner.differences(outcome.report) == 1


def test_run_without_writing_and_unwritable_files(fake_engine, tmp_path):
    by_table, _ = fake_engine
    by_table["dbo.orders"] = table("dbo.orders")
    path = tmp_path / "r.json"
    outcome = runner.run(values(json_path=str(path)), write=False)
    assert outcome.files == [] and not path.exists()
    outcome = runner.run(values(json_path=str(tmp_path / "no-such-dir" / "r.json")))
    assert outcome.write_error.startswith("cannot write a report file") and outcome.exit_status == 0


def test_run_bad_table_spec_is_an_option_error(fake_engine):
    by_table, _ = fake_engine
    by_table["dbo.orders"] = ValueError("bad where")
    with pytest.raises(runner.OptionError, match="invalid table specification: bad where"):
        runner.run(values())


def test_run_repairs_what_a_full_run_found(fake_engine, monkeypatch):
    by_table, _ = fake_engine
    by_table["dbo.orders"] = table("dbo.orders", "different", missing_in_target_count=1)
    seen = []

    def repair_report(report, differing, source, target, methods, signal_table, dry_run, echo):
        seen.append((methods, signal_table, dry_run))
        echo("[target] upsert 1 row(s)")
        report["tables"][0]["repair"] = {"signals": 0, "upserts": 1, "deletes": 0}

    monkeypatch.setattr(runner.repair, "repair_report", repair_report)
    echoed = []
    outcome = runner.run(values(repair="direct"), dry_run=True, echo=echoed.append)
    assert seen == [(["direct"], "dbo.debezium_signal", True)]
    assert outcome.plan == echoed == ["[target] upsert 1 row(s)"] and outcome.changed


def test_failure_thresholds():
    diff = engine_report(table("dbo.a"), table("dbo.b", "different", missing_in_target_count=2, different_count=1))
    assert runner.differences(diff) == 3
    assert "3 differing row(s) (more than 0 allowed) in dbo.b" == runner.failure(diff, 0)
    assert runner.failure(diff, 2) is not None
    assert runner.failure(diff, 3) is None
    assert runner.failure(diff, -1) is None
    error = engine_report(table("dbo.c", "error", rows_source=None, rows_target=None, errors=["LookupError: x"]))
    assert runner.failure(error, -1) == "reconciliation failed: dbo.c: LookupError: x"
    assert runner.failure(engine_report(table("dbo.a")), 0) is None

# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for the sluice.cdc.reconcile module (no database: engine.reconcile is replaced by a fake)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import outputs, runner
from ansible_collections.sluice.cdc.plugins.modules import reconcile as mod

SRC = {"engine": "sqlserver", "host": "mssql1", "database": "shop", "user": "sa", "password": "s3cret-src"}
DST = {"engine": "postgresql", "host": "pg1", "database": "shop", "user": "sluice", "password": "s3cret-dst"}


def table(name, status="consistent", **kw):
    t = {"table": name, "target_table": "public." + name.split(".")[-1], "mode": "full", "status": status,
         "key_columns": ["id"], "columns": ["name"], "rows_source": 5, "rows_target": 5, "buckets_compared": 4,
         "buckets_differing": 0, "missing_in_target": [], "extra_in_target": [], "different": [],
         "missing_in_target_count": 0, "extra_in_target_count": 0, "different_count": 0, "truncated": False,
         "rechecked_resolved": 0, "errors": [], "seconds": 0.1}
    t.update(kw)
    return t


def engine_report(*tables):
    parts = [{"mode": "full", "totals": {"tables": 1, t["status"]: 1}, "tables": [t]} for t in tables]
    return outputs.merge_reports(parts, "full", 4)


def params(**kw):
    base = {"source": SRC, "target": DST, "tables": ["dbo.orders"], "mode": "checksum", "buckets": 1024,
            "workers": 2, "split": 1, "recheck_delay": 0.0, "max_keys": 1000, "nfc": False, "fail_on_differences": 0,
            "repair": [], "signal_table": "dbo.debezium_signal"}
    base.update(kw)
    return base


# --- pure functions (validation and thresholds: tests/unit/reconcile/test_reconcile_runner.py) -----------------
def test_argument_spec_is_the_runners():
    assert mod.argument_spec() == runner.argument_spec()
    assert mod.argument_spec()["source"]["options"]["password"]["no_log"] is True


def test_missing_drivers(monkeypatch):
    monkeypatch.setattr(mod, "HAS_PYODBC", False)
    monkeypatch.setattr(mod, "PYODBC_IMPORT_ERROR", "tb")
    assert mod.missing_drivers(params()) == [("pyodbc", "tb")]
    assert mod.missing_drivers(params(source=DST)) == []
    monkeypatch.setattr(mod, "HAS_PSYCOPG", False)
    assert [lib for lib, _ in mod.missing_drivers(params())] == ["psycopg", "pyodbc"]


# --- main() through AnsibleModule ----------------------------------------------------------------------------------
@pytest.fixture
def run_main(monkeypatch, capsys):
    calls = []

    def run(args, report=None, raises=None, check=False):
        def fake_reconcile(source, target, tables, **options):
            calls.append({"source": source, "target": target, "tables": tables, "options": options})
            if raises:
                raise raises
            return report

        monkeypatch.setattr(runner.engine, "reconcile", fake_reconcile)
        args = dict({"source": SRC, "target": DST, "tables": ["dbo.orders"]}, **args)
        args["_ansible_check_mode"] = check
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                mod.main()
        out = capsys.readouterr().out
        result = json.loads(out)
        result["_rc"], result["_out"] = exc.value.code, out
        return result

    run.calls = calls
    return run


def test_main_consistent_writes_files(run_main, tmp_path):
    paths = {k: str(tmp_path / f"r.{k}") for k in ("json_path", "html_path", "metrics_path")}
    r = run_main(dict(paths, mode="full", buckets=64, workers=3, recheck_delay=2, max_keys=10, nfc=True),
                 engine_report(table("dbo.orders")))
    assert r["_rc"] == 0 and r["changed"] is False and r["exit_status"] == 0
    assert r["summary"]["dbo.orders"]["status"] == "consistent" and r["summary"]["dbo.orders"]["differences"] == 0
    assert r["report"]["run"]["sluice_version"] == "0.1.0" and r["report"]["tables"][0]["table"] == "dbo.orders"
    assert sorted(r["files"]) == sorted(paths.values())
    assert json.loads(open(paths["json_path"]).read())["status"] == "consistent"
    assert "sluice_reconcile_exit_status 0" in open(paths["metrics_path"]).read()
    assert "<html" in open(paths["html_path"]).read()
    (call,) = run_main.calls
    assert call["options"] == {"mode": "full", "buckets": 64, "workers": 1, "split": 1, "recheck_delay": 2.0,
                               "max_keys": 10, "nfc": True, "differing_rows": [], "progress": None}
    assert call["tables"] == ["dbo.orders"]
    assert call["source"].dialect.name == "sqlserver" and call["target"].dialect.name == "postgresql"
    assert "s3cret" not in r["_out"]  # passwords are no_log


def test_main_check_mode_writes_nothing(run_main, tmp_path):
    path = tmp_path / "r.json"
    r = run_main({"json_path": str(path)}, engine_report(table("dbo.orders")), check=True)
    assert r["_rc"] == 0 and r["files"] == [] and not path.exists() and len(run_main.calls) == 1


def test_main_differences_fail_by_default(run_main):
    rep = engine_report(table("dbo.orders", "different", extra_in_target_count=1, extra_in_target=[[9]]))
    r = run_main({}, rep)
    assert r["_rc"] == 1 and r["failed"] and "1 differing row(s)" in r["msg"]
    assert r["exit_status"] == 1 and r["summary"]["dbo.orders"]["extra"] == 1
    assert r["report"]["tables"][0]["extra_in_target"] == [[9]]


def test_main_differences_tolerated(run_main):
    rep = engine_report(table("dbo.orders", "different", extra_in_target_count=1))
    assert run_main({"fail_on_differences": -1}, rep)["_rc"] == 0
    assert run_main({"fail_on_differences": 1}, rep)["_rc"] == 0


def test_main_error_always_fails(run_main):
    rep = engine_report(table("dbo.nope", "error", rows_source=None, rows_target=None,
                              errors=["LookupError: source table dbo.nope not found or has no columns"]))
    r = run_main({"fail_on_differences": -1, "tables": ["dbo.nope"]}, rep)
    assert r["_rc"] == 1 and "dbo.nope" in r["msg"] and r["exit_status"] == 2


def test_main_bad_params_and_specs(run_main, tmp_path):
    r = run_main({"buckets": 0})
    assert r["_rc"] == 1 and "at least 1" in r["msg"] and not run_main.calls
    r = run_main({"source": dict(SRC, port=70000)})
    assert r["_rc"] == 1 and "out of range" in r["msg"]
    r = run_main({}, raises=ValueError("bad where"))
    assert r["_rc"] == 1 and r["msg"] == "invalid table specification: bad where"


def test_main_unwritable_file(run_main, tmp_path):
    r = run_main({"json_path": str(tmp_path / "missing-dir" / "r.json")}, engine_report(table("dbo.orders")))
    assert r["_rc"] == 1 and "cannot write a report file" in r["msg"] and r["exit_status"] == 0


def test_main_missing_driver(run_main, monkeypatch):
    monkeypatch.setattr(mod, "HAS_PYODBC", False)
    monkeypatch.setattr(mod, "PYODBC_IMPORT_ERROR", "Traceback: no pyodbc")
    r = run_main({})
    assert r["_rc"] == 1 and "pyodbc" in r["msg"] and not run_main.calls

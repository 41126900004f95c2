# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""sluice.cdc.reconcile through main() against the throwaway PostgreSQL cluster (src vs dst, see conftest.py)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sluice.cdc.plugins.modules import reconcile as mod


@pytest.fixture
def accounts(db):
    for d in ("src", "dst"):
        db(d, "CREATE TABLE mod_accounts (id int PRIMARY KEY, owner text, amount numeric(10,2))")
        db(d, "INSERT INTO mod_accounts SELECT g, 'o' || g, g FROM generate_series(1, 300) g")
    db("dst", "DELETE FROM mod_accounts WHERE id = 17")
    yield
    for d in ("src", "dst"):
        db(d, "DROP TABLE IF EXISTS mod_accounts")


def conn(pg_cluster, database):
    return {"engine": "postgresql", "host": "127.0.0.1", "port": pg_cluster["port"], "database": database,
            "user": "postgres", "password": "unused"}


def run_main(args, capsys, check_mode=False, diff=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    if diff:
        args = dict(args, _ansible_diff=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            mod.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def test_repair_check_mode_plans_then_direct_repair_changes(db, pg_cluster, accounts, capsys):
    args = {"source": conn(pg_cluster, "src"), "target": conn(pg_cluster, "dst"), "tables": ["mod_accounts"],
            "mode": "full", "buckets": 32, "fail_on_differences": -1, "repair": ["direct"]}
    code, result = run_main(args, capsys, check_mode=True, diff=True)
    assert code == 0 and result["changed"] is True, result
    assert result["repair_plan"][0].startswith("[target] upsert 1 row(s) into public.mod_accounts")
    assert 'INSERT INTO "public"."mod_accounts"' in result["diff"]["after"]
    assert db("dst", "SELECT count(*) FROM mod_accounts WHERE id = 17").fetchone()[0] == 0  # check mode: untouched
    code, result = run_main(args, capsys)
    assert code == 0 and result["changed"] is True
    assert result["report"]["tables"][0]["repair"]["upserts"] == 1
    assert db("dst", "SELECT owner FROM mod_accounts WHERE id = 17").fetchone()[0] == "o17"
    code, result = run_main(args, capsys)  # consistent now: nothing to repair, no change
    assert code == 0 and result["changed"] is False and result["exit_status"] == 0 and "repair_plan" not in result


def test_repair_needs_full_mode(pg_cluster, accounts, capsys):
    args = {"source": conn(pg_cluster, "src"), "target": conn(pg_cluster, "dst"), "tables": ["mod_accounts"],
            "mode": "checksum", "repair": ["signal"]}
    code, result = run_main(args, capsys)
    assert code == 1 and result["msg"] == "repair needs mode full (the exact differing keys)"


def test_main_against_postgres(pg_cluster, accounts, tmp_path, capsys):
    def conn(database):
        return {"engine": "postgresql", "host": "127.0.0.1", "port": pg_cluster["port"], "database": database,
                "user": "postgres", "password": "unused"}

    metrics = tmp_path / "m.prom"
    args = {"source": conn("src"), "target": conn("dst"), "tables": ["mod_accounts"], "mode": "full",
            "buckets": 32, "fail_on_differences": -1, "metrics_path": str(metrics)}
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            mod.main()
    result = json.loads(capsys.readouterr().out)
    assert exc.value.code == 0, result
    assert result["changed"] is False and result["exit_status"] == 1
    assert result["summary"]["public.mod_accounts"]["missing"] == 1
    assert result["report"]["tables"][0]["missing_in_target"] == [[17]]
    assert 'sluice_reconcile_differences{table="public.mod_accounts",kind="missing"} 1' in metrics.read_text()


def test_playbook_against_postgres(pg_cluster, accounts, tmp_path):
    """playbooks/reconcile.yml with a local inventory: reports written, summary printed, fails on the difference."""
    root = pathlib.Path(__file__).resolve().parents[3]
    conn = {"engine": "postgresql", "host": "127.0.0.1", "port": pg_cluster["port"], "user": "postgres"}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"kafka_connect": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "reconcile_source": dict(conn, database="src"), "reconcile_target": dict(conn, database="dst"),
        # the sink's mapping (sluice.cdc.table_map): an explicit target, in the target schema
        "connectors_tables": [{"source": "public.mod_accounts", "target": "mod_accounts"}],
        "postgresql_target_schema": "public"}}}}}}))
    reports = tmp_path / "reports"

    def play(*extra):
        return subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                               str(root / "playbooks" / "reconcile.yml"), "-e", f"reconcile_reports_dir={reports}",
                               *extra], cwd=root, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(root / "collections"),
                                       ANSIBLE_NOCOLOR="1"))

    p = play()
    assert p.returncode == 2, p.stdout + p.stderr
    assert '"missing": 1' in p.stdout and "Reconciliation different" in p.stdout, p.stdout
    (json_file,) = reports.glob("reconcile-*.json")
    assert json.loads(json_file.read_text())["tables"][0]["missing_in_target"] == [[17]]
    assert len(list(reports.glob("reconcile-*.html"))) == 1
    p = play("-e", "tables=public.mod_accounts", "-e", "reconcile_fail_on_differences=-1", "-e", "reconcile_mode=count")
    assert p.returncode == 0, p.stdout + p.stderr

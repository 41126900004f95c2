# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""scripts/sluice-reconcile end to end against the throwaway PostgreSQL cluster (src vs dst, see conftest.py)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
CLI = ROOT / "scripts" / "sluice-reconcile"


@pytest.fixture
def tables(db):
    """cli_customers (500 rows), cli_orders and sales.cli_orders (50 rows), identical in src and dst; dropped
    afterwards. (A table name without an explicit target is looked up in the target's default schema.)"""
    for d in ("src", "dst"):
        db(d, "CREATE TABLE cli_customers (id int PRIMARY KEY, name text, balance numeric(12,2))")
        db(d, "INSERT INTO cli_customers SELECT g, 'c' || g, g * 1.5 FROM generate_series(1, 500) g")
        db(d, "CREATE TABLE cli_orders (id bigint PRIMARY KEY, customer int, note text)")
        db(d, "INSERT INTO cli_orders SELECT g, g % 7, '<n' || g || '>' FROM generate_series(1, 50) g")
        db(d, "CREATE SCHEMA IF NOT EXISTS sales")
        db(d, "CREATE TABLE sales.cli_orders AS SELECT * FROM cli_orders")
        db(d, "ALTER TABLE sales.cli_orders ADD PRIMARY KEY (id)")
    yield
    for d in ("src", "dst"):
        db(d, "DROP TABLE IF EXISTS cli_customers, cli_orders, sales.cli_orders")


def cli(pg_cluster, *args, env=None):
    url = f"postgresql://postgres@127.0.0.1:{pg_cluster['port']}"
    cmd = [sys.executable, str(CLI), "--source", f"{url}/src", "--target", f"{url}/dst", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))


def test_consistent_run_exits_0(pg_cluster, tables, tmp_path):
    metrics = tmp_path / "sluice_reconcile.prom"
    p = cli(pg_cluster, "--tables", "public.cli_customers,public.cli_orders", "--mode", "full", "--buckets", "16",
            "--metrics", str(metrics))
    assert p.returncode == 0, p.stderr
    # one progress line per table on stderr, the summary on stdout
    assert sorted(line.split(":")[0].split()[1] for line in p.stderr.splitlines()) == ["public.cli_customers",
                                                                                      "public.cli_orders"]
    assert sorted(line.split()[0] for line in p.stderr.splitlines()) == ["[1/2]", "[2/2]"]
    assert "public.cli_customers: consistent, rows 500/500, differences 0" in p.stderr
    out = p.stdout.splitlines()
    assert out[1].split()[:4] == ["public.cli_customers", "consistent", "500", "500"]
    assert out[2].split()[:4] == ["public.cli_orders", "consistent", "50", "50"]
    assert out[-1] == "status: consistent (exit 0, mode full)"
    text = metrics.read_text()
    assert 'sluice_reconcile_rows_compared{table="public.cli_customers"} 500\n' in text
    assert "sluice_reconcile_exit_status 0\n" in text and "sluice_reconcile_last_success_timestamp_seconds" in text


def test_one_difference_exits_1_and_json_names_the_key(pg_cluster, tables, db, tmp_path):
    db("dst", "UPDATE cli_customers SET name = 'changed' WHERE id = 321")
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    p = cli(pg_cluster, "--tables", "cli_customers,cli_orders", "--mode", "full", "--workers", "1",
            "--json", str(report), "--html", str(page))
    assert p.returncode == 1, p.stderr
    doc = json.loads(report.read_text())
    assert doc["status"] == "different" and doc["exit_status"] == 1
    assert doc["run"]["sluice_version"] == "0.1.0" and doc["run"]["tables"] == ["cli_customers", "cli_orders"]
    assert doc["run"]["mode"] == "full" and doc["run"]["duration_seconds"] >= 0
    (customers, orders) = doc["tables"]
    assert customers["table"] == "public.cli_customers" and orders["status"] == "consistent"
    assert customers["different"] == [{"key": [321], "columns": {"name": ["c321", "changed"]}}]
    assert customers["missing_in_target"] == [] and customers["extra_in_target"] == []
    assert doc["totals"]["different_rows"] == 1
    assert "c321" in page.read_text() and "changed" in page.read_text()
    assert "public.cli_customers: different, rows 500/500, differences 1" in p.stderr


def test_checksum_mode_tables_file_and_password_env(pg_cluster, tables, db, tmp_path):
    db("dst", "DELETE FROM sales.cli_orders WHERE id = 9")
    tf = tmp_path / "tables.yml"
    tf.write_text(yaml.safe_dump([{"source": "sales.cli_orders", "target": "sales.cli_orders"}]))
    pwfile = tmp_path / "pw"
    pwfile.write_text("unused-with-trust-auth\n")
    p = cli(pg_cluster, "--tables-file", str(tf), "--source-password-file", str(pwfile), "--quiet",
            env={"SLUICE_TARGET_PASSWORD": "also-unused"})
    assert p.returncode == 1 and p.stdout == "" and p.stderr == ""


def test_bad_table_name_exits_2_naming_it(pg_cluster, tables):
    p = cli(pg_cluster, "--tables", "public.cli_customers,public.no_such_table")
    assert p.returncode == 2
    assert "public.no_such_table" in p.stderr and "error" in p.stderr
    assert "status: error (exit 2" in p.stdout
    q = cli(pg_cluster, "--tables", "public.no_such_table", "--quiet")
    assert q.returncode == 2 and "public.no_such_table: error:" in q.stderr


def test_config_file_and_usage_errors(pg_cluster, tables, tmp_path):
    config = tmp_path / "reconcile.yml"
    config.write_text(yaml.safe_dump({
        "source": {"engine": "postgresql", "host": "127.0.0.1", "port": pg_cluster["port"], "database": "src",
                   "user": "postgres", "password": "x"},
        "target": {"engine": "postgresql", "host": "127.0.0.1", "port": pg_cluster["port"], "database": "dst",
                   "user": "postgres"},
        "tables": ["public.cli_customers"], "mode": "count"}))
    p = subprocess.run([sys.executable, str(CLI), "--config", str(config)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert "mode count" in p.stdout

    for args, message in [
        (["--tables", "x"], "--source is required"),
        (["--source", "postgresql://u:pw@h/d", "--target", "postgresql://u@h/d", "--tables", "x"],
         "password in the URL"),
        (["--source", '{"engine": "postgresql", "host": "h", "database": "d", "password": "pw"}',
          "--target", "postgresql://u@h/d", "--tables", "x"], "no password on the command line"),
        (["--source", "{not json", "--target", "postgresql://u@h/d", "--tables", "x"], "invalid JSON"),
        (["--source", "[1]", "--target", "postgresql://u@h/d", "--tables", "x"], "unsupported URL scheme"),
        (["--source", "postgresql://u@h/d", "--target", "postgresql://u@h/d"], "no tables"),
        (["--source", "postgresql://u@h/d", "--target", "postgresql://u@h/d", "--tables", "x", "--buckets", "0"],
         "at least 1"),
    ]:
        r = subprocess.run([sys.executable, str(CLI), *args], capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and message in r.stderr, (args, r.stderr)


def test_repair_direct_dry_run_then_for_real(db, pg_cluster, tables, tmp_path):
    db("dst", "DELETE FROM cli_customers WHERE id IN (10, 20)")
    db("dst", "UPDATE cli_customers SET balance = 0 WHERE id = 30")
    db("dst", "INSERT INTO cli_customers VALUES (9001, 'ghost', 1)")
    dry = cli(pg_cluster, "--tables", "public.cli_customers", "--repair", "direct", "--dry-run",
              "--json", str(tmp_path / "dry.json"))
    assert dry.returncode == 1, dry.stderr
    assert "[target] upsert 3 row(s) into public.cli_customers" in dry.stderr
    assert "[target] delete 1 row(s) only in public.cli_customers" in dry.stderr
    assert json.loads((tmp_path / "dry.json").read_text())["tables"][0]["repair"]["dry_run"] is True
    assert db("dst", "SELECT count(*) FROM cli_customers").fetchone()[0] == 499  # nothing changed
    done = cli(pg_cluster, "--tables", "public.cli_customers", "--repair", "direct", "--quiet")
    assert done.returncode == 1, done.stderr  # the run found differences; the repair then fixed them
    again = cli(pg_cluster, "--tables", "public.cli_customers", "--mode", "full", "--quiet")
    assert again.returncode == 0, again.stderr


def test_repair_usage_errors(pg_cluster, tables):
    p = cli(pg_cluster, "--tables", "public.cli_customers", "--repair", "magic")
    assert p.returncode == 2 and "unknown method(s) magic" in p.stderr
    p = cli(pg_cluster, "--tables", "public.cli_customers", "--repair", "direct", "--mode", "checksum")
    assert p.returncode == 2 and "repair needs mode full" in p.stderr
    p = cli(pg_cluster, "--tables", "public.cli_customers", "--dry-run")
    assert p.returncode == 2 and "--dry-run applies to --repair" in p.stderr


def test_status_line_on_a_terminal(db, pg_cluster, tables):
    """On a terminal a status line shows the running phase (here the 2 s re-check wait) and is cleared after."""
    import pty
    db("dst", "UPDATE cli_customers SET name = 'x' WHERE id = 3")
    url = f"postgresql://postgres@127.0.0.1:{pg_cluster['port']}"
    cmd = [sys.executable, str(CLI), "--source", f"{url}/src", "--target", f"{url}/dst", "--tables",
           "public.cli_customers", "--mode", "full", "--recheck-delay", "2.5"]
    primary, secondary = pty.openpty()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert p.wait(timeout=60) == 1
    text = out.decode()
    assert "public.cli_customers: re-checking 1 key(s) in 2.5 s" in text
    assert "\r\x1b[K[1/1] public.cli_customers: different, rows 500/500, differences 1" in text

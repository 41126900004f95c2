"""The scheduled reconciliation (role reconcile_timer, site.yml's `reconcile` play) in the monitoring scenario: the
service the timer starts runs as its own non-root user in a hardened unit, its textfile metrics reach Prometheus,
and a difference injected in PostgreSQL is reported by the next run (the differing keys in its JSON report) and
fires SluiceReconcileDifferences, which reaches the webhook receiver and resolves after the difference is undone.

No SQL Server runs here, so the timer's source is PostgreSQL too (the reconciler compares PostgreSQL with
PostgreSQL; its SQL Server dialect is unit-tested only): the schema `dbo` of the target database holds the intended
source state. The module writes generated change events (tests/support/cdcgen) for every sample table through
Kafka and the JDBC sink, waits until PostgreSQL's `cdc` tables equal the generator's intended state row by row,
and only then copies them to `dbo` (monitoring_helpers.set_source)."""
import time

import pytest
import requests

from conftest import docker_exec
from monitoring_helpers import (PROMETHEUS, RECONCILE_CONTAINER, RECONCILE_TABLES, alerts, notifications, pg_connect,
                                query, reconcile_run, replicate_intended_state, rows, wait_for,
                                wait_for_reconcile_metrics)

UNIT = "sluice-reconcile.service"


@pytest.fixture(scope="module")
def intended():
    """The generator's intended source state, replicated to cdc.<table> (proven row by row) and copied to dbo."""
    return replicate_intended_state(count=400, seed=4711)


def scalar(promql):
    found = query(promql)
    return found[0][1] if found else None


def test_service_is_hardened_and_runs_as_its_own_user():
    props = dict(line.split("=", 1) for line in docker_exec(
        RECONCILE_CONTAINER, "systemctl", "show", UNIT, "-p", "User,NoNewPrivileges,ProtectSystem,ProtectHome,"
        "PrivateTmp,CapabilityBoundingSet,RestrictAddressFamilies,UMask,ReadWritePaths,SystemCallFilter").stdout
        .splitlines() if "=" in line)
    assert props["User"] == "sluice-reconcile"
    assert (props["NoNewPrivileges"], props["ProtectSystem"], props["ProtectHome"], props["PrivateTmp"]) == (
        "yes", "strict", "yes", "yes")
    assert props["CapabilityBoundingSet"] == "" and props["UMask"] == "0077"
    assert sorted(props["RestrictAddressFamilies"].split()) == ["AF_INET", "AF_INET6", "AF_UNIX"]
    assert sorted(props["ReadWritePaths"].split()) == ["/var/lib/sluice-reconcile/metrics",
                                                       "/var/lib/sluice-reconcile/reports"]
    assert props["SystemCallFilter"]  # @system-service, expanded by systemd
    stat = docker_exec(RECONCILE_CONTAINER, "stat", "-c", "%U %a", "/etc/sluice-reconcile/reconcile.yml",
                       "/var/lib/sluice-reconcile/reports")
    assert stat.stdout.split("\n")[:2] == ["sluice-reconcile 600", "sluice-reconcile 700"]
    timer = docker_exec(RECONCILE_CONTAINER, "systemctl", "is-active", "sluice-reconcile.timer")
    assert timer.stdout.strip() == "active"


def test_consistent_run_and_its_metrics_in_prometheus(intended):
    status, report = reconcile_run()
    assert status == 0, report
    assert report["status"] == "consistent" and report["mode"] == "full"
    expected = {f"dbo.{name}": len(intended.sink_state()[name]) for name in RECONCILE_TABLES}
    assert {t["table"]: t["rows_source"] for t in report["tables"]} == expected
    assert {t["table"]: t["target_table"] for t in report["tables"]} == {
        f"dbo.{name}": f"cdc.{name}" for name in RECONCILE_TABLES}  # the default tables, through table_map
    assert wait_for_reconcile_metrics(report) == 0
    compared = {labels["table"]: value for labels, value in query("sluice_reconcile_rows_compared")}
    assert compared == expected
    assert {labels["host"] for labels, _ in query("sluice_reconcile_exit_status")} == {RECONCILE_CONTAINER}
    assert scalar("sum(sluice_reconcile_differences)") == 0
    assert scalar("max(sluice_reconcile_table_status)") == 0
    assert scalar("sluice_reconcile_last_success_timestamp_seconds") == pytest.approx(
        report["run"]["finished_timestamp"], abs=0.01)


def test_injected_difference_is_reported_fires_the_alert_and_resolves(intended):
    since = time.time()
    customers = sorted(intended.sink_state()["customers"])
    changed, deleted = customers[0][0], customers[-1][0]
    with pg_connect() as conn:
        (original,) = rows(conn, "SELECT full_name FROM cdc.customers WHERE id = %s", changed)[0]
        rows(conn, "UPDATE cdc.customers SET full_name = 'changed by e2e' WHERE id = %s", changed)
        rows(conn, "DELETE FROM cdc.customers WHERE id = %s", deleted)
    try:
        status, report = reconcile_run()
        assert status == 1, report
        by_table = {t["table"]: t for t in report["tables"]}
        table = by_table.pop("dbo.customers")
        assert table["status"] == "different"
        assert table["different"] == [{"key": [changed], "columns": {"full_name": [original, "changed by e2e"]}}]
        assert table["missing_in_target"] == [[deleted]] and table["extra_in_target"] == []
        assert {t["status"] for t in by_table.values()} == {"consistent"}

        assert wait_for_reconcile_metrics(report) == 1
        kinds = {labels["kind"]: value for labels, value in
                 query('sluice_reconcile_differences{table="dbo.customers"}')}
        assert kinds == {"missing": 1, "extra": 0, "different": 1}
        assert scalar('sluice_reconcile_table_status{table="dbo.customers"}') == 1
        firing = wait_for(lambda: alerts("SluiceReconcileDifferences", "firing"), timeout=60, interval=2,
                          what="SluiceReconcileDifferences to fire")
        assert firing[0]["labels"]["host"] == RECONCILE_CONTAINER
        note = wait_for(lambda: notifications("SluiceReconcileDifferences", "firing", since), timeout=60,
                        interval=2, what="the webhook to receive the firing reconciliation alert")[0]
        assert note["annotations"]["runbook_url"].endswith("#sluicereconciledifferences")
        # SluiceReconcileNotSucceeding waits for the configured age without a consistent run (26 h by default);
        # the run above was consistent, so it stays quiet (its firing is covered by the promtool rule tests).
        rule = [r for g in requests.get(f"{PROMETHEUS}/api/v1/rules", timeout=10).json()["data"]["groups"]
                for r in g["rules"] if r["name"] == "SluiceReconcileNotSucceeding"][0]
        assert rule["health"] == "ok" and rule["state"] == "inactive"
    finally:
        with pg_connect() as conn:
            rows(conn, "UPDATE cdc.customers SET full_name = %s WHERE id = %s", original, changed)
            rows(conn, "INSERT INTO cdc.customers SELECT * FROM dbo.customers WHERE id = %s", deleted)
    status, report = reconcile_run()
    assert status == 0 and report["status"] == "consistent", report
    assert wait_for_reconcile_metrics(report) == 0
    wait_for(lambda: not alerts("SluiceReconcileDifferences"), timeout=60, interval=2,
             what="SluiceReconcileDifferences to resolve")
    wait_for(lambda: notifications("SluiceReconcileDifferences", "resolved", since), timeout=90, interval=2,
             what="the webhook to receive the resolved reconciliation alert")

"""The alert rules of roles/monitoring, rendered with the role's defaults, checked by `promtool check rules` and
unit-tested by `promtool test rules` (tests/unit/monitoring/alert_rules_test.yml).

promtool comes from Debian's prometheus package, unpacked by scripts/setup-host into .cache/tools/bin (no
Prometheus daemon on the host); it is also looked up on PATH.
"""
import pathlib
import re
import shutil
import subprocess

import jinja2
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "monitoring"
TESTS = pathlib.Path(__file__).with_name("alert_rules_test.yml")
DOCS = ROOT / "docs" / "monitoring.md"


def tool(name):
    local = ROOT / ".cache" / "tools" / "bin" / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: run scripts/setup-host (it unpacks {name} into .cache/tools/bin)")
    return found


def defaults():
    return yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def render_rules(**overrides):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLE / "templates")),
                             variable_start_string="<<", variable_end_string=">>",
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True)
    return env.get_template("sluice.rules.yml.j2").render(
        defaults() | {"ansible_managed": "Ansible managed"} | overrides)


def alerts(text):
    return [rule for group in yaml.safe_load(text)["groups"] for rule in group["rules"]]


def without_annotations(text):
    """The rules with their annotations dropped: promtool compares annotations exactly, and the cases assert what
    decides firing (expression, `for`, labels); the annotations are checked by test_every_alert_has_a_runbook_section
    and by `promtool check rules` (template syntax) on the full file."""
    doc = yaml.safe_load(text)
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    where = tmp_path_factory.mktemp("rules")
    (where / "full.rules.yml").write_text(render_rules())
    (where / "sluice.rules.yml").write_text(without_annotations(render_rules()))
    shutil.copy(TESTS, where / TESTS.name)
    return where


def test_rules_pass_promtool_check(rendered):
    out = subprocess.run([tool("promtool"), "check", "rules", str(rendered / "full.rules.yml")],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(alerts(render_rules()))} rules found" in out.stdout


def test_promtool_unit_tests_pass(rendered):
    out = subprocess.run([tool("promtool"), "test", "rules", TESTS.name], cwd=rendered,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_every_alert_is_tested_firing_and_silent():
    names = {rule["alert"] for rule in alerts(render_rules())}
    cases = [case for test in yaml.safe_load(TESTS.read_text())["tests"]
             for case in test.get("alert_rule_test", [])]
    fires = {c["alertname"] for c in cases if c.get("exp_alerts")}
    silent = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    assert names - fires == set(), "alerts without a test that they fire"
    assert names - silent == set(), "alerts without a test that they stay silent when healthy"
    assert fires | silent <= names, "tests of alerts that do not exist"


def test_every_alert_has_a_runbook_section():
    anchors = {re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
               for line in DOCS.read_text().splitlines() if line.startswith("#")}
    for rule in alerts(render_rules()):
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/monitoring.md#{rule['alert'].lower()}", url
        assert rule["alert"].lower() in anchors, f"docs/monitoring.md has no section {rule['alert']}"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_a_failing_expectation_fails(rendered, tmp_path):
    """The harness itself can fail: a case expecting the healthy lag series to fire must not pass."""
    broken = yaml.safe_load(TESTS.read_text())
    broken["tests"] = [broken["tests"][0]]
    broken["tests"][0]["alert_rule_test"][0]["exp_alerts"] = [{"exp_labels": {"severity": "critical"}}]
    shutil.copy(rendered / "sluice.rules.yml", tmp_path / "sluice.rules.yml")
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    out = subprocess.run([tool("promtool"), "test", "rules", "broken.yml"], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert out.returncode != 0 and "SluiceEndToEndLagHigh" in out.stdout + out.stderr


def test_thresholds_and_durations_are_variables():
    text = render_rules(monitoring_alert_e2e_lag_seconds=20, monitoring_alert_e2e_lag_for="15s",
                        monitoring_alert_task_failed_for="10s", monitoring_runbook_base_url="https://wiki/x")
    rules = {rule["alert"]: rule for rule in alerts(text)}
    lag = rules["SluiceEndToEndLagHigh"]
    assert lag["for"] == "15s" and "> 20" in lag["expr"] and "> 300" not in lag["expr"]
    assert rules["SluiceTaskFailed"]["for"] == "10s"
    assert rules["SluiceTaskFailed"]["annotations"]["runbook_url"] == "https://wiki/x#sluicetaskfailed"

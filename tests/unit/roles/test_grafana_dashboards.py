"""The Grafana role's dashboards and provisioning, checked offline.

Every dashboard is valid JSON with a unique uid; every panel (rows aside) queries the provisioned Prometheus data
source by its uid with at least one PromQL expression; every dashboard variable used is defined; and every metric
name in an expression is one that something Sluice ships produces: a rule of the JMX exporter templates (their
`name:` patterns read loosely, `$n` standing for the pattern's capture group), the node and postgres exporters
(node_*, pg_*), the heartbeat lag query (sluice_heartbeat_lag_seconds), the reconciliation's textfile metrics
(sluice_reconcile_*, from outputs.py) or Prometheus itself (up). The live check is tests/e2e/monitoring.
"""
import json
import pathlib
import re

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import outputs

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "grafana"
DASHBOARDS = sorted((ROLE / "files" / "dashboards").glob("*.json"))
ROLE_VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
JMX_TEMPLATES = [ROOT / "roles" / "kafka" / "templates" / "jmx-exporter.yml.j2",
                 ROOT / "roles" / "kafka_connect" / "templates" / "jmx-exporter.yml.j2"]
GRAFANA_GLOBALS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
                   "__name", "__all"}
# Names Prometheus makes itself, and the contract with the monitoring role (postgres exporter custom query).
BUILTIN = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "sluice_heartbeat_lag_seconds"}
EXPORTER_PREFIXES = ("node_", "pg_")
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                "offset", "inf", "nan", "atan2"}


def load(path):
    return json.loads(path.read_text())


def panels(board):
    """Every panel, rows' nested panels included."""
    for p in board["panels"]:
        yield p
        yield from p.get("panels", [])


def query_panels(board):
    return [p for p in panels(board) if p.get("type") != "row"]


def exprs(board):
    for p in query_panels(board):
        for t in p.get("targets", []):
            yield p["title"], t.get("expr", "")


# --- metric names ---------------------------------------------------------------------------------------------------
def _group_regex(group):
    """A capture group of a JMX exporter pattern as the regex of what it puts into a metric name."""
    if re.fullmatch(r"[A-Za-z0-9_|-]+", group):
        return "(?:" + "|".join(re.sub(r"[^a-z0-9_]", "_", alt.lower()) for alt in group.split("|")) + ")"
    if group == r"\d+":
        return "[0-9]+"
    return "[a-z0-9_]+"


def jmx_name_patterns():
    """Regexes of the metric names the JMX exporter rules produce (lowercaseOutputName, '-' and '.' become '_')."""
    found = []
    for template in JMX_TEMPLATES:
        pattern = None
        for line in template.read_text().splitlines():
            m = re.match(r"\s*-?\s*pattern:\s*(.+?)\s*$", line)
            if m:
                pattern = m.group(1).strip("'\"")
                continue
            m = re.match(r"\s*name:\s*(.+?)\s*$", line)
            if m and pattern is not None:
                name = m.group(1).strip("'\"")
                groups = re.findall(r"(?<!\\)\((?!\?)([^()]*)\)", pattern)  # capturing groups only
                regex = ""
                for piece in re.split(r"(\$\d+)", name):
                    if re.fullmatch(r"\$\d+", piece):
                        index = int(piece[1:]) - 1
                        regex += _group_regex(groups[index]) if index < len(groups) else "[a-z0-9_]+"
                    else:
                        regex += re.escape(re.sub(r"[^a-z0-9_]", "_", piece.lower()))
                found.append(re.compile(regex + "$"))
                pattern = None
    return found


JMX_NAMES = jmx_name_patterns()
RECONCILE_NAMES = {name for name, _ in outputs._METRICS}


def metric_names(expr):
    """Metric names in a PromQL expression, read loosely: strings, label matchers, ranges, grouping clauses and
    function calls removed; what is left that looks like an identifier is a metric name."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([A-Za-z_:][A-Za-z0-9_:]*)\b(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_WORDS or re.fullmatch(r"[0-9.e+-]+", word):
            continue
        names.add(word)
    return names


def produced(name):
    return (name in BUILTIN or name in RECONCILE_NAMES or name.startswith(EXPORTER_PREFIXES)
            or any(p.match(name) for p in JMX_NAMES))


# --- tests ----------------------------------------------------------------------------------------------------------
def test_the_four_dashboards_are_there():
    assert {p.name for p in DASHBOARDS} == {"sluice-overview.json", "sluice-kafka-connect.json", "sluice-kafka.json",
                                            "sluice-reconcile.json"}


def test_dashboards_are_valid_json_with_unique_uids_and_titles():
    boards = [load(p) for p in DASHBOARDS]
    uids = [b["uid"] for b in boards]
    assert len(set(uids)) == len(uids) and all(re.fullmatch(r"[a-z0-9-]{1,40}", u) for u in uids)
    titles = [b["title"] for b in boards]
    assert len(set(titles)) == len(titles)
    for b in boards:
        ids = [p["id"] for p in panels(b)]
        assert len(set(ids)) == len(ids), b["uid"]
        assert b["editable"] is False and "sluice" in b["tags"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_queries_the_provisioned_datasource(path):
    board = load(path)
    uid = ROLE_VARS["grafana_datasource_uid"]
    for p in query_panels(board):
        assert p["datasource"] == {"type": "prometheus", "uid": uid}, p["title"]
        targets = p.get("targets") or []
        assert targets and all(t.get("expr", "").strip() for t in targets), f"{p['title']}: a target without expr"
        assert all(t["datasource"]["uid"] == uid for t in targets), p["title"]
        assert len({t["refId"] for t in targets}) == len(targets), p["title"]
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"]["uid"] == uid, var["name"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_variable_used_is_defined(path):
    board = load(path)
    defined = {v["name"] for v in board["templating"]["list"]}
    for title, expr in exprs(board):
        used = set(re.findall(r"\$\{?([A-Za-z_]\w*)", expr))
        assert used <= defined | GRAFANA_GLOBALS, f"{title}: {sorted(used - defined - GRAFANA_GLOBALS)}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_expressions_are_balanced(path):
    for title, expr in exprs(load(path)):
        bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
        assert bare.count('"') % 2 == 0, title
        for open_, close in ("()", "[]", "{}"):
            depth = 0
            for ch in bare:
                depth += (ch == open_) - (ch == close)
                assert depth >= 0, f"{title}: unbalanced {open_}{close}"
            assert depth == 0, f"{title}: unbalanced {open_}{close}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_metric_is_produced_by_something_we_ship(path):
    unknown = {}
    for title, expr in exprs(load(path)):
        names = metric_names(expr)
        assert names, f"{title}: no metric name found in {expr!r}"
        for name in names:
            if not produced(name):
                unknown.setdefault(name, title)
    assert not unknown, f"metrics no rule or exporter produces: {unknown}"


def test_the_name_reader_itself():
    assert metric_names('sum by (topic) (rate(kafka_server_brokertopicmetrics_messagesinpersec_total'
                        '{topic=~"a[.]b"}[$__rate_interval])) or vector(0)') == {
        "kafka_server_brokertopicmetrics_messagesinpersec_total"}
    assert metric_names('time() - max(sluice_reconcile_last_run_timestamp_seconds)') == {
        "sluice_reconcile_last_run_timestamp_seconds"}
    assert metric_names('label_replace(up, "x", "$1", "job", "(.*)")') == {"up"}
    assert produced("kafka_connect_sink_task_sink_record_send_rate")
    assert produced("debezium_metrics_millisecondsbehindsource")
    assert produced("kafka_controller_kafkacontroller_activecontrollercount")
    assert not produced("debezium_metrics_nosuchthing")
    assert not produced("kafka_connect_made_up")
    assert not produced("kafka_connect_sink_made_up")
    assert produced("debezium_schema_history_changesapplied") or not any(
        "debezium_schema_history" in p.pattern for p in JMX_NAMES)
    assert not produced("confluent_kafka_made_up")


def test_datasource_provisioning_renders_the_uid_the_dashboards_use():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE / "templates"), undefined=jinja2.StrictUndefined,
                             trim_blocks=True)
    env.filters.update({k: v for k, v in CoreFilters().filters().items() if k not in env.filters})
    text = env.get_template("datasource.yml.j2").render(
        ansible_managed="managed", grafana_prometheus_effective_url="http://prom-1:9090",
        grafana_scrape_interval="15s", **ROLE_VARS)
    doc = yaml.safe_load(text)
    (ds,) = doc["datasources"]
    assert ds["uid"] == "sluice-prometheus" == ROLE_VARS["grafana_datasource_uid"]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prom-1:9090" and ds["isDefault"] is True
    assert ds["jsonData"]["timeInterval"] == "15s"


def test_dashboard_provider_reads_where_the_role_copies():
    provider = yaml.safe_load((ROLE / "files" / "provisioning" / "dashboards.yml").read_text())
    (p,) = provider["providers"]
    assert p["type"] == "file" and p["options"]["path"] == ROLE_VARS["grafana_dashboards_dir"]
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    copy = next(t for t in tasks if t["name"] == "Copy the dashboards")
    assert "/dashboards/*.json" in copy["loop"]
    password = next(t for t in tasks if t["name"] == "Write the admin password file")
    assert password["no_log"] is True and password["ansible.builtin.copy"]["mode"] == "0640"
    vendor = next(t for t in tasks if t.get("ansible.builtin.include_role", {}).get("name") == "grafana.grafana.grafana")
    ini = next(t for t in tasks if t["name"] == "Compose the grafana.ini settings for the vendor role")
    assert tasks.index(ini) < tasks.index(vendor) and "grafana_ini" not in vendor["vars"]
    text = ini["ansible.builtin.set_fact"]["grafana_ini"]
    assert "'$__file{' ~ grafana_admin_password_file ~ '}'" in text and "grafana_admin_password " not in text


def test_argument_specs_mark_the_admin_password_no_log():
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert spec["grafana_admin_password"]["no_log"] is True

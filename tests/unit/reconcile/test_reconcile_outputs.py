# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests for reconcile/outputs.py: JSON document, Prometheus textfile metrics, HTML report."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import outputs

STARTED = 1700000000.0  # 2023-11-14T22:13:20Z
FINISHED = 1700000012.5


def table(name="public.orders", status="consistent", **kw):
    t = {"table": name, "target_table": name, "mode": "full", "status": status, "key_columns": ["id"],
         "columns": ["name"], "rows_source": 10, "rows_target": 10, "buckets_compared": 8, "buckets_differing": 0,
         "missing_in_target": [], "extra_in_target": [], "different": [], "missing_in_target_count": 0,
         "extra_in_target_count": 0, "different_count": 0, "truncated": False, "rechecked_resolved": 0,
         "errors": [], "seconds": 0.25}
    t.update(kw)
    return t


def report(*tables, mode="full"):
    reports = [{"status": t["status"], "mode": mode, "buckets": 8, "exit_status": 0,
                "totals": {"tables": 1, "consistent": int(t["status"] == "consistent"),
                           "different": int(t["status"] == "different"), "error": int(t["status"] == "error"),
                           "rows_source": t["rows_source"] or 0, "rows_target": t["rows_target"] or 0,
                           "missing_in_target": t["missing_in_target_count"],
                           "extra_in_target": t["extra_in_target_count"], "different_rows": t["different_count"],
                           "rechecked_resolved": 0}, "tables": [t]} for t in tables]
    return outputs.merge_reports(reports, mode, 8)


def different_table():
    return table("public.orders", "different", rows_target=11, buckets_differing=2,
                 missing_in_target=[["7"]], extra_in_target=[["501"]],
                 different=[{"key": ["42"], "columns": {"qty": ["42", "-1"], "name": ["n42", None]}}],
                 missing_in_target_count=1, extra_in_target_count=1, different_count=1)


# --- merge / summary -------------------------------------------------------------------------------------------------
def test_merge_reports_sums_totals_and_sets_status():
    r = report(table("public.a"), different_table())
    assert r["status"] == "different" and r["exit_status"] == 1
    assert [t["table"] for t in r["tables"]] == ["public.a", "public.orders"]
    assert r["totals"]["tables"] == 2 and r["totals"]["rows_target"] == 21 and r["totals"]["missing_in_target"] == 1
    assert report(table(), table("x.y", "error", rows_source=None, errors=["boom"]))["exit_status"] == 2
    assert report(table())["status"] == "consistent" and report(table())["exit_status"] == 0


def test_table_differences_exact_or_lower_bound():
    assert outputs.table_differences(different_table()) == 3
    assert outputs.table_differences(table()) == 0
    assert outputs.table_differences(table(status="different", rows_target=4, mode="count")) == 6
    assert outputs.table_differences(table(status="different", buckets_differing=3, mode="checksum")) == 3
    assert outputs.table_differences(table(status="different", mode="checksum")) == 1
    assert outputs.table_differences(table(status="error", rows_source=None, rows_target=None)) == 0


def test_summary_and_text():
    r = report(different_table(), table("s.err", "error", rows_source=None, rows_target=None, errors=["E"]))
    s = outputs.summary(r)
    assert s["public.orders"] == {"target_table": "public.orders", "status": "different", "rows_source": 10,
                                  "rows_target": 11, "missing": 1, "extra": 1, "different": 1, "differences": 3,
                                  "errors": [], "seconds": 0.25}
    assert s["s.err"]["errors"] == ["E"]
    text = outputs.summary_text(r).splitlines()
    assert text[0].split() == ["table", "status", "rows", "source", "rows", "target", "missing", "extra",
                               "different", "seconds"]
    assert text[1].split() == ["public.orders", "different", "10", "11", "1", "1", "1", "0.250"]
    assert text[2].split() == ["s.err", "error", "-", "-", "0", "0", "0", "0.250"]
    assert text[-1] == "status: error (exit 2, mode full)"


# --- JSON ------------------------------------------------------------------------------------------------------------
def test_document_adds_run_metadata(tmp_path):
    r = report(different_table())
    doc = outputs.document(r, STARTED, FINISHED, ["public.orders"])
    assert doc["run"] == {"started": "2023-11-14T22:13:20.000Z", "finished": "2023-11-14T22:13:32.500Z",
                          "started_timestamp": STARTED, "finished_timestamp": FINISHED, "duration_seconds": 12.5,
                          "sluice_version": "0.1.0", "mode": "full", "tables": ["public.orders"]}
    assert "run" not in r  # the engine's dict is not modified
    path = tmp_path / "r.json"
    outputs.write_json(str(path), doc)
    loaded = json.loads(path.read_text())
    assert loaded["tables"][0]["missing_in_target"] == [["7"]] and loaded["status"] == "different"
    assert outputs.document(r, STARTED, FINISHED)["run"]["tables"] == ["public.orders"]


# --- Prometheus ------------------------------------------------------------------------------------------------------
def test_prometheus_exact_lines_with_differences():
    doc = outputs.document(report(different_table()), STARTED, FINISHED)
    lines = [line for line in outputs.prometheus_text(doc).splitlines() if not line.startswith("#")]
    assert lines == [
        'sluice_reconcile_rows_compared{table="public.orders"} 10',
        'sluice_reconcile_rows_target{table="public.orders"} 11',
        'sluice_reconcile_differences{table="public.orders",kind="missing"} 1',
        'sluice_reconcile_differences{table="public.orders",kind="extra"} 1',
        'sluice_reconcile_differences{table="public.orders",kind="different"} 1',
        'sluice_reconcile_table_status{table="public.orders"} 1',
        'sluice_reconcile_duration_seconds{table="public.orders"} 0.25',
        "sluice_reconcile_last_run_timestamp_seconds 1700000012.5",
        "sluice_reconcile_exit_status 1",
    ]


def test_prometheus_success_and_help_type():
    doc = outputs.document(report(table(), mode="checksum"), STARTED, FINISHED)
    doc["tables"][0]["mode"] = "checksum"
    text = outputs.prometheus_text(doc)
    assert "sluice_reconcile_last_success_timestamp_seconds 1700000012.5\n" in text
    assert "sluice_reconcile_exit_status 0\n" in text
    assert "sluice_reconcile_differences" not in text  # counts are exact in full mode only
    for name in re.findall(r"^(sluice_\w+)", text, re.M):
        assert f"# TYPE {name} gauge" in text and f"# HELP {name} " in text
    assert text.endswith("\n")


def test_prometheus_error_table_and_escaping():
    bad = table('we"ird\\na\nme', "error", rows_source=None, rows_target=None, errors=["x"])
    doc = outputs.document(report(bad), STARTED, FINISHED)
    text = outputs.prometheus_text(doc)
    assert 'sluice_reconcile_table_status{table="we\\"ird\\\\na\\nme"} 2' in text
    assert "rows_compared" not in text and "sluice_reconcile_differences" not in text
    assert "last_success" not in text and "sluice_reconcile_exit_status 2" in text
    assert outputs.label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_write_metrics_atomic(tmp_path, monkeypatch):
    path = tmp_path / "sluice_reconcile.prom"
    path.write_text("old\n")
    doc = outputs.document(report(table()), STARTED, FINISHED)
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        # at the moment of the rename the temporary file is complete and in the same directory, hidden
        assert os.path.dirname(src) == str(tmp_path) and os.path.basename(src).startswith(".")
        assert not src.endswith(".prom")
        assert open(src).read() == outputs.prometheus_text(doc)
        assert path.read_text() == "old\n"
        replaced.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", spy)
    outputs.write_metrics(str(path), doc)
    assert replaced == [str(path)] and path.read_text() == outputs.prometheus_text(doc)
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path) == ["sluice_reconcile.prom"]


def test_write_atomic_failure_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.prom"
    path.write_text("old\n")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(outputs.os, "replace", boom)
    with pytest.raises(OSError):
        outputs.write_atomic(str(path), "new\n")
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["m.prom"]


# --- HTML ------------------------------------------------------------------------------------------------------------
class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.attrs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_every_value():
    evil = '<script>alert("x")</script>'
    t = table(evil, "different", target_table="t'q", key_columns=['k"1'], missing_in_target=[[evil]],
              extra_in_target=[["a&b"]], different=[{"key": ["1"], "columns": {evil: [evil, "it's \"q\""]}}],
              missing_in_target_count=1, extra_in_target_count=1, different_count=1, errors=[evil])
    doc = outputs.document(report(t), STARTED, FINISHED)
    page = outputs.html_report(doc)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "it&#x27;s &quot;q&quot;" in page and "a&amp;b" in page and "t&#x27;q" in page
    parser = _Collect()
    parser.feed(page)
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert not [v for k, v in parser.attrs if k in ("src", "href")]  # no external assets
    assert "style" in parser.tags  # inline CSS
    assert evil in "".join(parser.text)  # the value reads back exactly


def test_html_side_by_side_values():
    doc = outputs.document(report(different_table(), table("public.ok")), STARTED, FINISHED)
    page = outputs.html_report(doc)
    parser = _Collect()
    parser.feed(page)
    text = [s.strip() for s in parser.text if s.strip()]
    assert "Missing in target (1 listed)" in text and "Extra in target (1 listed)" in text
    i = text.index("qty")
    assert text[i:i + 3] == ["qty", "42", "-1"]
    j = text.index("name")
    assert text[j:j + 3] == ["name", "n42", "NULL"]
    assert 'rowspan="2"' in page
    assert page.count("<h2>") == 2  # summary + the differing table only (public.ok has nothing to show)
    assert 'class="src"' in page and 'class="tgt"' in page


def test_html_truncated_and_changed_row(tmp_path):
    t = different_table()
    t["truncated"] = True
    t["different"] = [{"key": ["9"], "columns": {}}]
    doc = outputs.document(report(t), STARTED, FINISHED)
    path = tmp_path / "r.html"
    outputs.write_html(str(path), doc)
    page = path.read_text()
    assert "truncated" in page and "row changed during the check" in page

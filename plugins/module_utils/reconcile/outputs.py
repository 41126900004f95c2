# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Outputs of a reconciliation run: JSON document, Prometheus textfile-collector metrics, HTML report.

All three take the engine's report (``engine.reconcile``'s dict, schema in engine.py's docstring) wrapped by
:func:`document` with the run's metadata. Files are written atomically (temporary file in the same directory,
then ``os.replace``): a reader (node_exporter, a browser, a CI job) never sees half a file.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import tempfile

SLUICE_VERSION = "0.1.0"
KINDS = (("missing", "missing_in_target_count"), ("extra", "extra_in_target_count"), ("different", "different_count"))
_STATUS_CODE = {"consistent": 0, "different": 1, "error": 2}


# --- combining and summarizing ----------------------------------------------------------------------------------
def merge_reports(reports, mode: str, buckets: int) -> dict:
    """One engine report from several (e.g. one ``reconcile`` call per table): tables concatenated in order,
    totals summed key by key, status and exit_status recomputed as the engine does."""
    tables, totals = [], {}
    for rep in reports:
        tables.extend(rep["tables"])
        for key, value in rep["totals"].items():
            totals[key] = totals.get(key, 0) + value
    status = "error" if totals.get("error") else "different" if totals.get("different") else "consistent"
    return {"status": status, "mode": mode, "buckets": int(buckets), "totals": totals, "tables": tables,
            "exit_status": _STATUS_CODE[status]}


def table_differences(table: dict) -> int:
    """Differing rows of one table report: exact in ``full`` mode; outside it a lower bound (at least the row
    count difference, at least one row per differing bucket, at least 1 when the table differs)."""
    exact = sum(table.get(field) or 0 for _, field in KINDS)
    if exact or table.get("status") != "different":
        return exact
    rows = abs((table.get("rows_source") or 0) - (table.get("rows_target") or 0))
    return max(rows, table.get("buckets_differing") or 0, 1)


def summary(report: dict) -> dict:
    """{table: {status, rows_source, rows_target, missing, extra, different, differences, errors}}."""
    return {t["table"]: {"target_table": t["target_table"], "status": t["status"], "rows_source": t["rows_source"],
                         "rows_target": t["rows_target"], "missing": t["missing_in_target_count"],
                         "extra": t["extra_in_target_count"], "different": t["different_count"],
                         "differences": table_differences(t), "errors": list(t["errors"]),
                         "seconds": t["seconds"]}
            for t in report["tables"]}


def summary_text(report: dict) -> str:
    """A fixed-width table for a terminal: one line per table and a status line."""
    head = ("table", "status", "rows source", "rows target", "missing", "extra", "different", "seconds")
    rows = [head]
    for t in report["tables"]:
        rows.append((t["table"], t["status"], _n(t["rows_source"]), _n(t["rows_target"]),
                     str(t["missing_in_target_count"]), str(t["extra_in_target_count"]), str(t["different_count"]),
                     f"{t['seconds']:.3f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.append(f"status: {report['status']} (exit {report['exit_status']}, mode {report['mode']})")
    return "\n".join(lines) + "\n"


def _n(value) -> str:
    return "-" if value is None else str(value)


# --- JSON ---------------------------------------------------------------------------------------------------------
def iso_utc(timestamp: float) -> str:
    return _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def document(report: dict, started: float, finished: float, tables=None) -> dict:
    """The engine's report plus ``run``: started/finished (UTC ISO 8601), duration_seconds, sluice_version,
    mode and the requested table specs. ``started``/``finished`` are ``time.time()`` values."""
    doc = dict(report)
    doc["run"] = {"started": iso_utc(started), "finished": iso_utc(finished),
                  "started_timestamp": round(started, 3), "finished_timestamp": round(finished, 3),
                  "duration_seconds": round(finished - started, 3), "sluice_version": SLUICE_VERSION,
                  "mode": report["mode"], "tables": list(tables) if tables is not None else
                  [t["table"] for t in report["tables"]]}
    return doc


def json_text(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False, default=str) + "\n"


def write_atomic(path: str, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` through a hidden temporary file in the same directory and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json(path: str, doc: dict) -> None:
    write_atomic(path, json_text(doc))


# --- Prometheus ---------------------------------------------------------------------------------------------------
def label_value(value) -> str:
    """Escape a label value for the text exposition format: backslash, double quote, line feed."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels) -> str:
    return "{" + ",".join(f'{k}="{label_value(v)}"' for k, v in labels.items()) + "}"


_METRICS = (
    ("sluice_reconcile_rows_compared", "Rows of the source table compared (source side count)."),
    ("sluice_reconcile_rows_target", "Rows of the target table compared."),
    ("sluice_reconcile_differences", "Differing rows by kind (exact counts; mode=full only)."),
    ("sluice_reconcile_table_status", "Per-table status: 0 consistent, 1 different, 2 error."),
    ("sluice_reconcile_duration_seconds", "Seconds the table's comparison took."),
    ("sluice_reconcile_last_success_timestamp_seconds", "Unix time of the last run that found every table consistent."),
    ("sluice_reconcile_last_run_timestamp_seconds", "Unix time the last run finished."),
    ("sluice_reconcile_exit_status", "Exit status of the last run: 0 consistent, 1 differences, 2 error."),
)


def prometheus_text(doc: dict) -> str:
    """node_exporter textfile-collector format of a :func:`document` (floats in Python's repr)."""
    samples = {name: [] for name, _ in _METRICS}
    for t in doc["tables"]:
        table = t["table"]
        if t["rows_source"] is not None:
            samples["sluice_reconcile_rows_compared"].append((_labels(table=table), t["rows_source"]))
        if t["rows_target"] is not None:
            samples["sluice_reconcile_rows_target"].append((_labels(table=table), t["rows_target"]))
        if t["mode"] == "full" and t["status"] != "error":
            for kind, field in KINDS:
                samples["sluice_reconcile_differences"].append((_labels(table=table, kind=kind), t[field]))
        samples["sluice_reconcile_table_status"].append((_labels(table=table), _STATUS_CODE.get(t["status"], 2)))
        samples["sluice_reconcile_duration_seconds"].append((_labels(table=table), t["seconds"]))
    finished = doc["run"]["finished_timestamp"]
    if doc["exit_status"] == 0:
        samples["sluice_reconcile_last_success_timestamp_seconds"].append(("", finished))
    samples["sluice_reconcile_last_run_timestamp_seconds"].append(("", finished))
    samples["sluice_reconcile_exit_status"].append(("", doc["exit_status"]))
    lines = []
    for name, help_text in _METRICS:
        if samples[name]:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            lines += [f"{name}{labels} {value}" for labels, value in samples[name]]
    return "\n".join(lines) + "\n"


def write_metrics(path: str, doc: dict) -> None:
    write_atomic(path, prometheus_text(doc))


# --- HTML ---------------------------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}h3{font-size:1em}
table{border-collapse:collapse;margin:.5em 0 1em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.consistent{color:#1a7f37;font-weight:bold}.different{color:#b35900;font-weight:bold}
.error{color:#c00;font-weight:bold}.null{color:#888;font-style:italic}
.src{background:#fff4e5}.tgt{background:#e8f1ff}code{font-family:ui-monospace,monospace}
.meta{color:#555}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _cell(value, cls: str = "") -> str:
    attr = f' class="{_e(cls)}"' if cls else ""
    if value is None:
        return f'<td{attr}><span class="null">NULL</span></td>'
    return f"<td{attr}><code>{_e(value)}</code></td>"


def _num(value) -> str:
    return f'<td class="num">{_e(_n(value))}</td>'


def html_report(doc: dict) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external assets); every value is escaped."""
    run = doc["run"]
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Sluice reconciliation: {_e(doc['status'])}</title>", f"<style>{_CSS}</style></head><body>",
           f"<h1>Sluice reconciliation: <span class=\"{_e(doc['status'])}\">{_e(doc['status'])}</span></h1>",
           f'<p class="meta">Mode {_e(doc["mode"])}, {_e(doc["buckets"])} buckets; started {_e(run["started"])}, '
           f'finished {_e(run["finished"])} ({_e(run["duration_seconds"])} s); exit status {_e(doc["exit_status"])};'
           f' sluice {_e(run["sluice_version"])}.</p>',
           "<h2>Summary</h2>", "<table><thead><tr>"]
    out += [f"<th>{_e(h)}</th>" for h in ("Table", "Target table", "Status", "Rows source", "Rows target",
                                          "Buckets differing", "Missing in target", "Extra in target",
                                          "Different", "Re-check resolved", "Seconds", "Errors")]
    out.append("</tr></thead><tbody>")
    for t in doc["tables"]:
        out.append(f"<tr><td>{_e(t['table'])}</td><td>{_e(t['target_table'])}</td>"
                   f'<td class="{_e(t["status"])}">{_e(t["status"])}</td>'
                   + _num(t["rows_source"]) + _num(t["rows_target"]) + _num(t["buckets_differing"])
                   + _num(t["missing_in_target_count"]) + _num(t["extra_in_target_count"])
                   + _num(t["different_count"]) + _num(t["rechecked_resolved"]) + _num(t["seconds"])
                   + "<td>" + "<br>".join(_e(err) for err in t["errors"]) + "</td></tr>")
    out.append("</tbody></table>")
    for t in doc["tables"]:
        if not (t["missing_in_target"] or t["extra_in_target"] or t["different"] or t["errors"]):
            continue
        out.append(f"<h2>{_e(t['table'])} &rarr; {_e(t['target_table'])}</h2>")
        if t["errors"]:
            out.append("<ul>" + "".join(f'<li class="error">{_e(err)}</li>' for err in t["errors"]) + "</ul>")
        if t["truncated"]:
            out.append("<p>Key lists are truncated (max_keys); the counts above are complete.</p>")
        keyhead = "".join(f"<th>{_e(k)}</th>" for k in t["key_columns"]) or "<th>key</th>"
        for title, keys in (("Missing in target", t["missing_in_target"]), ("Extra in target", t["extra_in_target"])):
            if keys:
                out.append(f"<h3>{_e(title)} ({len(keys)} listed)</h3><table><thead><tr>{keyhead}</tr></thead>"
                           "<tbody>" + "".join("<tr>" + "".join(_cell(v) for v in key) + "</tr>" for key in keys)
                           + "</tbody></table>")
        if t["different"]:
            out.append(f"<h3>Different ({len(t['different'])} listed)</h3><table><thead><tr>{keyhead}"
                       "<th>Column</th><th>Source</th><th>Target</th></tr></thead><tbody>")
            for d in t["different"]:
                columns = list(d["columns"].items()) or [(None, (None, None))]
                span = f' rowspan="{len(columns)}"' if len(columns) > 1 else ""
                key_cells = "".join(_cell(v).replace("<td", f"<td{span}", 1) for v in d["key"])
                for i, (column, (src, tgt)) in enumerate(columns):
                    name = "<td><em>(row changed during the check)</em></td>" if column is None else \
                        f"<td>{_e(column)}</td>"
                    out.append("<tr>" + (key_cells if i == 0 else "") + name + _cell(src, "src") + _cell(tgt, "tgt")
                               + "</tr>")
            out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_html(path: str, doc: dict) -> None:
    write_atomic(path, html_report(doc))

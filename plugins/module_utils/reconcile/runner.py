# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The reconciler's one runner: its options (names, types, defaults, validation) and the run -> repair ->
summarize -> write sequence, shared by every front end.

- ``plugins/modules/reconcile.py`` builds its ``argument_spec`` with :func:`argument_spec` and calls :func:`run`;
- ``scripts/sluice-reconcile`` builds its command-line options from :data:`OPTIONS` (flag, type, help with the
  default), merges ``--config`` file values and flags, and calls :func:`run`; ``--check-config`` is
  :func:`check_config` (the timer role validates its templated config file with it);
- ``playbooks/reconcile.yml`` and ``roles/reconcile_timer`` go through the module and the CLI respectively.

Nothing else holds a default or a validation rule of these options.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from . import connections, engine, outputs, repair


class OptionError(ValueError):
    """Invalid options (found before any database is contacted)."""


@dataclass(frozen=True)
class Option:
    name: str
    type: str  # str, int, float, bool, list, dict, path, raw
    default: object = None
    required: bool = False
    choices: tuple | None = None
    elements: str | None = None
    no_log: bool | None = None  # None: Ansible's default; False: says a name like *key holds no secret
    flag: str | None = None  # the CLI's flag; None: not a plain CLI flag (see scripts/sluice-reconcile)
    config: bool = True  # allowed in the CLI's --config file
    help: str = ""


CONNECTION = (
    Option("engine", "str", required=True, choices=connections.ENGINES, help="database engine"),
    Option("host", "str", required=True, help="host name or address"),
    Option("port", "int", help="TCP port; default 5432 (PostgreSQL) or 1433 (SQL Server)"),
    Option("database", "str", required=True, help="database name"),
    Option("user", "str", help="login name"),
    Option("password", "str", no_log=True, help="password of the login"),
    Option("sslmode", "str", help="PostgreSQL libpq sslmode (default prefer)"),
    Option("sslrootcert", "path", help="PostgreSQL: CA certificates (PEM) that verify the server"),
    Option("sslcert", "path", help="PostgreSQL: client certificate (PEM)"),
    Option("sslkey", "path", no_log=False, help="PostgreSQL: private key of sslcert (PEM)"),
    Option("encrypt", "str", help="SQL Server ODBC Encrypt: yes, no or strict"),
    Option("trust_server_certificate", "bool", default=False, help="SQL Server: accept the certificate unchecked"),
    Option("hostname_in_certificate", "str", help="SQL Server: host name expected in its certificate (ODBC 18)"),
    Option("server_certificate", "path", help="SQL Server: its own certificate file to match (ODBC 18.1)"),
    Option("odbc_driver", "str", help="SQL Server ODBC driver name"),
    Option("connect_timeout", "int", default=30, help="connection timeout in seconds"),
)

OPTIONS = (
    Option("source", "dict", required=True, help="source connection settings"),
    Option("target", "dict", required=True, help="target connection settings"),
    Option("tables", "list", required=True, elements="raw", flag="--tables",
           help="tables: schema.table[,schema.table...] (table dicts in a --tables-file or --config)"),
    Option("mode", "str", choices=engine.MODES, flag="--mode",
           help="count, checksum or full (default checksum; full with --repair)"),
    Option("buckets", "int", default=1024, flag="--buckets", help="buckets (key hash buckets or key ranges) per table"),
    Option("workers", "int", default=2, flag="--workers", help="tables compared in parallel"),
    Option("split", "int", default=1, flag="--split",
           help="slices per side of each table's digest scan, each on its own connection (big tables)"),
    Option("recheck_delay", "float", default=0.0, flag="--recheck-delay",
           help="mode full: seconds before the differing keys are looked at again (0: no re-check)"),
    Option("max_keys", "int", default=1000, flag="--max-keys", help="keys listed per table and kind"),
    Option("nfc", "bool", default=False, flag="--nfc", help="compare text after Unicode NFC normalization"),
    Option("repair", "list", default=[], elements="str", choices=repair.METHODS, flag="--repair",
           help="repair after a full run: signal, direct or signal,direct"),
    Option("signal_table", "str", default="dbo.debezium_signal", flag="--signal-table",
           help="the source's Debezium signal table (schema.table)"),
    Option("fail_on_differences", "int", default=0, config=False,
           help="module only: fail when more rows differ than this (-1 never, 0 any difference)"),
    Option("json_path", "path", flag="--json", help="write the JSON report"),
    Option("html_path", "path", flag="--html", help="write the HTML report"),
    Option("metrics_path", "path", flag="--metrics", help="write Prometheus textfile-collector metrics (atomically)"),
)
BY_NAME = {o.name: o for o in OPTIONS}
CONFIG_KEYS = tuple(o.name for o in OPTIONS if o.config)
OUTPUTS = (("json_path", outputs.write_json), ("html_path", outputs.write_html),
           ("metrics_path", outputs.write_metrics))


def _spec(option: Option) -> dict:
    spec = {"type": option.type}
    if option.required:
        spec["required"] = True
    if option.no_log is not None:
        spec["no_log"] = option.no_log
    if option.default is not None:
        spec["default"] = list(option.default) if isinstance(option.default, list) else option.default
    if option.choices:
        spec["choices"] = list(option.choices)
    if option.elements:
        spec["elements"] = option.elements
    return spec


def argument_spec() -> dict:
    """The Ansible module's argument_spec, from :data:`OPTIONS` (connection settings as sub-options)."""
    spec = {}
    for option in OPTIONS:
        spec[option.name] = _spec(option)
        if option.name in ("source", "target"):
            spec[option.name]["options"] = {o.name: _spec(o) for o in CONNECTION}
    return spec


def defaults() -> dict:
    return {o.name: (list(o.default) if isinstance(o.default, list) else o.default) for o in OPTIONS}


# --- validation ---------------------------------------------------------------------------------------------------
def _coerce(option: Option, value):
    if value is None:
        return None
    kind, name = option.type, option.name
    try:
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "bool":
            return connections._bool(value, name)  # pylint: disable=protected-access
    except (TypeError, ValueError, connections.ConfigError):
        raise OptionError(f"{name} must be of type {kind}, not {value!r}") from None
    if kind == "list":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise OptionError(f"{name} must be a list, not {value!r}")
        return list(value)
    if kind in ("str", "path") and not isinstance(value, str):
        if isinstance(value, (dict, list)):
            raise OptionError(f"{name} must be a string, not {value!r}")
        return str(value)
    if kind == "dict" and not isinstance(value, dict):
        raise OptionError(f"{name} must be a mapping, not {value!r}")
    return value


def _tables(tables) -> list:
    if not tables:
        raise OptionError("tables must not be empty")
    out = []
    for t in tables:
        if isinstance(t, dict):
            if not t.get("source"):
                raise OptionError(f"a table dict needs a source name: {t!r}")
            out.append(t)
        elif isinstance(t, str) and t.strip():
            out.append(t.strip())
        else:
            raise OptionError(f"a table is a name (schema.table) or a dict, not {t!r}")
    return out


def resolve(values: dict, unknown_ok: bool = False) -> dict:
    """Options with defaults filled in, types coerced and every rule checked; connection settings normalized
    (connections.normalize). ``values``: the options given (None or missing: the default). Raises OptionError."""
    values = dict(values or {})
    unknown = sorted(set(values) - set(BY_NAME))
    if unknown and not unknown_ok:
        raise OptionError(f"unknown option(s): {', '.join(map(str, unknown))} (known: {', '.join(BY_NAME)})")
    params = defaults()
    for option in OPTIONS:
        value = _coerce(option, values.get(option.name))
        if value is not None:
            params[option.name] = value
        if option.required and params[option.name] in (None, "", [], {}):
            if option.name == "tables":
                raise OptionError("no tables: give the tables to compare")
            raise OptionError(f"{option.name} is required")
    try:
        params["source"] = connections.normalize(params["source"])
        params["target"] = connections.normalize(params["target"])
    except connections.ConfigError as exc:
        raise OptionError(str(exc)) from None
    params["tables"] = _tables(params["tables"])
    params["repair"] = [m.strip() for m in params["repair"] if str(m).strip()]
    unknown = sorted(set(params["repair"]) - set(repair.METHODS))
    if unknown:
        raise OptionError(f"repair: unknown method(s) {', '.join(unknown)}; use signal, direct or both")
    if params["mode"] is None:
        params["mode"] = "full" if params["repair"] else "checksum"
    if params["mode"] not in engine.MODES:
        raise OptionError(f"mode must be one of {', '.join(engine.MODES)}, not {params['mode']!r}")
    if params["repair"] and params["mode"] != "full":
        raise OptionError("repair needs mode full (the exact differing keys)")
    if min(params["buckets"], params["workers"], params["split"]) < 1:
        raise OptionError("buckets, workers and split must be at least 1")
    if params["max_keys"] < 0 or params["recheck_delay"] < 0:
        raise OptionError("max_keys and recheck_delay must not be negative")
    if params["fail_on_differences"] < -1:
        raise OptionError("fail_on_differences must be -1 (never), 0 (any difference) or a positive threshold")
    return params


def load_config(path: str) -> dict:
    """The CLI's --config file (YAML or JSON): a mapping of :data:`CONFIG_KEYS`."""
    import yaml  # noqa: PLC0415 - only needed for files

    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    if not isinstance(config, dict) or set(config) - set(CONFIG_KEYS):
        extra = sorted(map(str, set(config) - set(CONFIG_KEYS))) if isinstance(config, dict) else []
        raise OptionError(f"{path}: the configuration must be a mapping of {', '.join(CONFIG_KEYS)}"
                          + (f" (unknown: {', '.join(extra)})" if extra else ""))
    return config


def check_config(path: str) -> dict:
    """Validate a --config file completely without contacting a database; return the resolved options."""
    return resolve(load_config(path))


# --- running ------------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    report: dict
    doc: dict
    tables: list
    plan: list = field(default_factory=list)
    files: list = field(default_factory=list)
    write_error: str | None = None

    @property
    def exit_status(self) -> int:
        return engine.exit_status(self.report)

    @property
    def changed(self) -> bool:
        return repaired(self.report)


def compare(source, target, params, progress=None, table_done=None, differing_rows=None) -> dict:
    """One engine call per table, ``workers`` at a time (so each table is reported as it finishes), merged into one
    report in the tables' order. ``table_done(table_report, done, total)`` is called as each finishes."""
    tables = params["tables"]
    options = {k: params[k] for k in ("mode", "buckets", "split", "recheck_delay", "max_keys", "nfc")}
    reports = [None] * len(tables)
    with ThreadPoolExecutor(params["workers"], thread_name_prefix="sluice-reconcile") as pool:
        futures = {pool.submit(engine.reconcile, source, target, [t], workers=1, differing_rows=differing_rows,
                               progress=progress, **options): i for i, t in enumerate(tables)}
        for done, future in enumerate(as_completed(futures), 1):
            i = futures[future]
            reports[i] = future.result()
            if table_done:
                table_done(reports[i]["tables"][0], done, len(tables))
    return outputs.merge_reports(reports, params["mode"], params["buckets"])


def run(values: dict, dry_run: bool = False, write: bool = True, progress=None, table_done=None,
        echo=None) -> Outcome:
    """Resolve the options, compare, repair (planned only with ``dry_run``), summarize, then write the report files
    (unless ``write`` is false). Raises OptionError before any database work for invalid options or table specs;
    a table that cannot be compared is an error in the report, not an exception. A report file that cannot be
    written is ``Outcome.write_error`` (the report is still returned)."""
    params = resolve(values)
    source, target = connections.endpoint(params["source"]), connections.endpoint(params["target"])
    started = time.time()
    differing, plan = [], []

    def record(text):
        plan.append(text)
        if echo:
            echo(text)

    try:
        report = compare(source, target, params, progress, table_done, differing)
    except (ValueError, KeyError, TypeError, LookupError) as exc:
        raise OptionError(f"invalid table specification: {exc}") from None
    if params["repair"] and report["status"] == "different":
        repair.repair_report(report, differing, source, target, params["repair"], params["signal_table"],
                             dry_run=dry_run, echo=record)
        report = engine.summarize(report["tables"], report["mode"], report["buckets"])  # a failed repair: error
    outcome = Outcome(report, outputs.document(report, started, time.time(), params["tables"]), params["tables"],
                      plan)
    if write:
        try:
            for option, writer in OUTPUTS:
                if params.get(option):
                    writer(params[option], outcome.doc)
                    outcome.files.append(params[option])
        except OSError as exc:
            outcome.write_error = f"cannot write a report file: {exc}"
    return outcome


def differences(report: dict) -> int:
    return sum(outputs.table_differences(t) for t in report["tables"])


def failure(report: dict, threshold: int):
    """The failure message for this report and fail_on_differences threshold, or None."""
    if report["exit_status"] == 2:
        errors = [f"{t['table']}: {e}" for t in report["tables"] for e in t["errors"]]
        return "reconciliation failed: " + "; ".join(errors)
    found = differences(report)
    if threshold >= 0 and found > threshold:
        tables = [t["table"] for t in report["tables"] if t["status"] == "different"]
        return f"{found} differing row(s) (more than {threshold} allowed) in {', '.join(tables)}"
    return None


def repaired(report: dict) -> bool:
    """Whether a repair changed (or in dry-run/check mode would change) anything."""
    return any(t.get("repair") and (t["repair"]["signals"] or t["repair"]["upserts"] or t["repair"]["deletes"])
               for t in report["tables"])

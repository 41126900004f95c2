# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""roles/reconcile_timer agrees with the runner: it writes only the runner's config keys, installs the whole
engine package (no file list), and runs the CLI as its own user in a hardened unit (live: tests/e2e/monitoring)."""

from __future__ import annotations

import pathlib
import re

import yaml

from ansible_collections.sluice.cdc.plugins.module_utils.reconcile import engine, runner

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "reconcile_timer"


def load(rel):
    return yaml.safe_load((ROLE / rel).read_text())


def test_config_document_holds_only_runner_keys():
    config = load("vars/main.yml")["__reconcile_timer_config"]
    keys = set(re.findall(r"'(\w+)':", config))
    assert keys <= set(runner.CONFIG_KEYS)
    assert {"source", "target", "tables", "mode", "json_path", "html_path", "metrics_path"} == keys
    spec = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert spec["reconcile_timer_mode"]["choices"] == list(engine.MODES)
    # no copy of the runner's defaults: the comparison's other options pass through reconcile_timer_options
    defaults = load("defaults/main.yml")
    own = {"source", "target", "tables", "mode"}
    assert not {f"reconcile_timer_{name}" for name in set(runner.CONFIG_KEYS) - own} & set(defaults)
    assert defaults["reconcile_timer_options"] == {}
    assert "__reconcile_timer_pipeline_tables | sluice.cdc.table_map | sluice.cdc.reconcile_tables(" \
        "reconcile_timer_target_schema)" in defaults["reconcile_timer_tables"]
    assert "connectors/defaults/main.yml" in load("vars/main.yml")["__reconcile_timer_pipeline_tables"]


def test_the_whole_engine_package_is_installed_and_the_config_checked():
    tasks = {t["name"]: t for t in load("tasks/main.yml")}
    install = tasks["Install the engine package and the CLI"]
    assert install["ansible.builtin.include_role"] == {"name": "sluice.cdc.install_artifact", "tasks_from": "engine"}
    assert install["vars"]["install_artifact_engine_clis"] == ["sluice-reconcile"]
    text = (ROLE / "tasks" / "main.yml").read_text()
    assert "repair.py" not in text and "dialects.py" not in text  # no hand-written file list
    config = tasks["Write the configuration (connection settings and passwords), checked by the CLI itself"]
    assert config["no_log"] is True and config["ansible.builtin.template"]["mode"] == "0600"
    assert config["ansible.builtin.template"]["owner"] == "{{ reconcile_timer_user }}"
    assert "bin/sluice-reconcile --check-config %s" in config["ansible.builtin.template"]["validate"]


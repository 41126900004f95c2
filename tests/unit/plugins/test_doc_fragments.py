# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The connection doc fragments are generated from the layers' argument specs: same names, types, defaults, choices,
required and elements; every option described; no option name of a caller lost."""

from __future__ import annotations

import yaml
import pytest

from ansible_collections.sluice.cdc.plugins.doc_fragments import kafka, mssql, postgres, status_sources
from ansible_collections.sluice.cdc.plugins.module_utils import kafka_conn, pg, status
from ansible_collections.sluice.cdc.plugins.module_utils import mssql as mssql_layer

FIELDS = ('type', 'default', 'choices', 'required', 'elements', 'aliases')


@pytest.mark.parametrize('fragment, spec', [
    (postgres, pg.argument_spec()),
    (kafka, kafka_conn.argument_spec()),
    (mssql, mssql_layer.connection_argument_spec()),
    (status_sources, dict(kafka_conn.argument_spec('kafka_', **status.KAFKA_DEFAULTS),
                          **pg.argument_spec('postgres_', **status.POSTGRES_DEFAULTS))),
])
def test_fragment_is_the_spec(fragment, spec):
    options = yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)['options']
    assert list(options) == list(spec)
    for name, doc in options.items():
        assert doc['description'] and all(isinstance(line, str) and '{p}' not in line for line in doc['description'])
        assert {f: doc.get(f) for f in FIELDS} == {f: spec[name].get(f) for f in FIELDS}, name


def test_option_names_callers_pass_are_kept():
    """Names roles/ and playbooks/ pass today (sqlserver_source module_defaults, kafka_topic, status.yml)."""
    assert {'database', 'login_host', 'login_port', 'login_user', 'login_password', 'odbc_driver', 'encrypt',
            'trust_server_certificate', 'timeout'} <= set(mssql_layer.connection_argument_spec())
    assert {'bootstrap_servers', 'client_config'} <= set(kafka_conn.argument_spec())
    status_names = set(kafka_conn.argument_spec('kafka_')) | set(pg.argument_spec('postgres_'))
    assert {'kafka_bootstrap_servers', 'kafka_client_config', 'postgres_host', 'postgres_port', 'postgres_database',
            'postgres_user', 'postgres_password', 'postgres_sslmode'} <= status_names


def test_ansible_doc_renders_the_fragments():
    """ansible-doc (ansible's own fragment loader) merges them into the modules (the DOCUMENTATION is JSON)."""
    import json
    import os
    import pathlib
    import shutil
    import subprocess
    import sys
    root = pathlib.Path(__file__).resolve().parents[3]
    tool = shutil.which('ansible-doc') or str(pathlib.Path(sys.executable).parent / 'ansible-doc')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(root / 'collections'))
    out = subprocess.run([tool, '--json', '-t', 'module', 'sluice.cdc.pipeline_status', 'sluice.cdc.kafka_topic',
                          'sluice.cdc.mssql_info'], capture_output=True, text=True, env=env, check=True).stdout
    docs = {name: entry['doc']['options'] for name, entry in json.loads(out).items()}
    assert {'kafka_ssl_ca_file', 'kafka_sasl_password', 'postgres_sslrootcert', 'url'} <= set(
        docs['sluice.cdc.pipeline_status'])
    assert {'security_protocol', 'sasl_password', 'client_config', 'name'} <= set(docs['sluice.cdc.kafka_topic'])
    assert docs['sluice.cdc.mssql_info']['hostname_in_certificate']['type'] == 'str'

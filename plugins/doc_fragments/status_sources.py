# Copyright: Sluice developers
# Apache License 2.0 (see LICENSE)
"""The Kafka (C(kafka_*)) and PostgreSQL (C(postgres_*)) connection options of pipeline_status: the kafka and
postgres fragments' options, prefixed, with that module's defaults (module_utils/status.py SOURCE_SPECS)."""

import json

from ansible_collections.sluice.cdc.plugins.doc_fragments import kafka, postgres
from ansible_collections.sluice.cdc.plugins.module_utils import kafka_conn, pg
from ansible_collections.sluice.cdc.plugins.module_utils.doc_options import documentation
from ansible_collections.sluice.cdc.plugins.module_utils.status import KAFKA_DEFAULTS, POSTGRES_DEFAULTS


def _options():
    options = json.loads(documentation(kafka_conn.argument_spec('kafka_', **KAFKA_DEFAULTS), kafka.DESCRIPTIONS,
                                       'kafka_'))['options']
    options.update(json.loads(documentation(pg.argument_spec('postgres_', **POSTGRES_DEFAULTS),
                                            postgres.DESCRIPTIONS, 'postgres_'))['options'])
    options['kafka_bootstrap_servers']['description'].append('Empty skips consumer lag and dead-letter counts.')
    options['postgres_host']['description'].append(
        'With it the end-to-end lag is read from the heartbeat table there; without it, and with O(prometheus_url), '
        'the lag is C(max(sluice_heartbeat_lag_seconds)).')
    options['postgres_connect_timeout']['description'].append('Default O(request_timeout).')
    return json.dumps({'options': options}, indent=2)


class ModuleDocFragment:
    DOCUMENTATION = _options()

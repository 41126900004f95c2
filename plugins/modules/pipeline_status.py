#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pipeline_status
short_description: Report the state of the whole Sluice pipeline on one screen
version_added: "0.1.0"
description:
  - Reads every connector and task state from Kafka Connect, the end-to-end lag (the newest heartbeat row
    replicated to PostgreSQL, or C(sluice_heartbeat_lag_seconds) from Prometheus), the lag of each sink connector's
    consumer group per topic (table), the message count of each dead-letter topic, and the firing alerts
    (Alertmanager, or Prometheus). Never changes anything.
  - Judges the pipeline V(healthy), V(degraded) (a connector or task not RUNNING, lag over O(max_lag_seconds), a
    firing alert, an optional consumer-lag or dead-letter limit exceeded) or V(error) (a source that was asked for
    could not be read). The module fails only when Connect cannot be read; use RV(status) to decide.
  - "Runs where the Python packages are, normally the controller (C(delegate_to: localhost)); consumer lag and
    dead-letter counts need C(confluent-kafka), the PostgreSQL heartbeat needs C(psycopg) (both in the project's
    C(requirements.txt))."
  - No password and no connector config is returned; task errors are scrubbed of the connectors' secret values.
  - Consumer lag is computed from committed offsets, which Connect commits every C(offset.flush.interval.ms)
    (60 s by default), so under load it overstates the backlog by up to that much; the end-to-end lag is the live
    figure.
author:
  - Sluice developers
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  connectors:
    description:
      - Connectors to report. Empty (the default) reports all connectors of the Connect cluster.
    type: list
    elements: str
    default: []
  dlq_topics:
    description:
      - Dead-letter topics to count. Empty (the default) takes C(errors.deadletterqueue.topic.name) of every sink
        connector.
    type: list
    elements: str
    default: []
  heartbeat_table:
    description: The replicated heartbeat table in PostgreSQL (C(schema.table)).
    type: str
    default: cdc.sluice_heartbeat
  heartbeat_column:
    description: Its timestamp column (written in UTC on SQL Server).
    type: str
    default: ts
  prometheus_url:
    description:
      - Base URL of Prometheus, for example C(http://prometheus-1:9090). Gives the firing alerts when
        O(alertmanager_url) is not set, and the lag when O(postgres_host) is not set.
    type: str
  alertmanager_url:
    description: Base URL of Alertmanager, for example C(http://prometheus-1:9093); its active alerts are listed.
    type: str
  supervisor_urls:
    description:
      - Metrics endpoints of the sluice-supervisors, for example C(http://connect-1:9406), one per Connect host.
      - Their C(/actions) give the active one, its last actions and the records quarantined per connector; the
        pipeline is V(degraded) unless exactly one is active.
    type: list
    elements: str
    default: []
  max_lag_seconds:
    description: End-to-end lag above which the pipeline is V(degraded).
    type: float
    default: 300
  max_consumer_lag:
    description: Records behind, per topic, above which the pipeline is V(degraded). Not judged when unset.
    type: int
  max_dlq_messages:
    description:
      - Messages in a dead-letter topic above which the pipeline is V(degraded). Not judged when unset (the
        dead-letter alert covers new records; old ones stay until retention removes them).
    type: int
extends_documentation_fragment:
  - sluice.cdc.connect
  - sluice.cdc.status_sources
seealso:
  - module: sluice.cdc.connect_connector_info
"""

EXAMPLES = r"""
- name: Read the pipeline's status
  sluice.cdc.pipeline_status:
    url: http://connect-1:8083
    kafka_bootstrap_servers: [kafka-1:9092, kafka-2:9092]
    postgres_host: pg-1
    postgres_password: "{{ sluice_sink_password }}"
    alertmanager_url: http://prometheus-1:9093
  delegate_to: localhost
  run_once: true
  register: pipeline

- name: Show it
  ansible.builtin.debug:
    msg: "{{ pipeline.text.splitlines() }}"

- name: Fail unless healthy
  ansible.builtin.assert:
    that: pipeline.status == 'healthy'
    fail_msg: "{{ pipeline.problems + pipeline.errors.values() | list }}"
"""

RETURN = r"""
status:
  description: V(healthy), V(degraded) or V(error).
  returned: success
  type: str
  sample: degraded
exit_status:
  description: 0 healthy, 1 degraded, 2 error (the CLI's exit status).
  returned: success
  type: int
  sample: 1
checked_at:
  description: UTC time of the check (ISO 8601).
  returned: success
  type: str
problems:
  description: What makes the pipeline degraded, one sentence each.
  returned: success
  type: list
  elements: str
  sample: ["task sluice-postgres-sink/0 is FAILED: org.apache.kafka.connect.errors.ConnectException: ..."]
errors:
  description: Sources that could not be read, by section (V(connectors), V(lag), V(kafka), V(consumer_lag),
    V(dlq), V(alerts)).
  returned: success
  type: dict
connectors:
  description: Every connector with C(name), C(type), C(state), C(worker_id), C(error) (first line of its trace and
    the root cause), C(tasks) (C(id), C(state), C(worker_id), C(error)); sinks also C(group) and C(dlq_topic).
  returned: success
  type: list
  elements: dict
lag:
  description: End-to-end lag C(seconds) (or null), its C(source) (V(postgresql), V(prometheus) or null) and
    C(max_seconds).
  returned: success
  type: dict
  sample: {seconds: 4.2, source: postgresql, max_seconds: 300}
consumer_lag:
  description: Per sink consumer group and topic, C(table), C(partitions) and C(lag) in records; null when no
    Kafka bootstrap servers were given.
  returned: success
  type: list
  elements: dict
dlq:
  description: Per dead-letter topic, C(messages) and C(exists); null when no Kafka bootstrap servers were given.
  returned: success
  type: list
  elements: dict
alerts:
  description: Firing alerts (C(name), C(severity), C(since), C(summary), C(labels)); null when neither
    O(alertmanager_url) nor O(prometheus_url) was given.
  returned: success
  type: list
  elements: dict
alerts_source:
  description: V(alertmanager), V(prometheus) or null.
  returned: success
  type: str
supervisor:
  description:
    - The sluice-supervisors (C(instances) with C(url), C(active), C(error)), the number C(active), C(quarantined)
      records per connector, the active one's C(backoff) and last C(actions); null without O(supervisor_urls).
  returned: success
  type: dict
text:
  description: The same report as a fixed-width screen (what C(scripts/sluice-status) prints).
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sluice.cdc.plugins.module_utils import kafka_conn, pg
from ansible_collections.sluice.cdc.plugins.module_utils import status as pipeline
from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import (
    CONNECTION_ARGUMENT_SPEC,
    ConnectClient,
    ConnectError,
)


def make_client(params):
    """The Connect REST client; tests replace its request function."""
    return ConnectClient(params['url'], validate_certs=params['validate_certs'], ca_path=params['ca_path'],
                         client_cert=params['client_cert'], client_key=params['client_key'],
                         url_username=params['url_username'], url_password=params['url_password'],
                         timeout=params['request_timeout'])


def make_kafka(params):
    """A factory of the Kafka offsets reader (tests replace it)."""
    conf = kafka_conn.client_config(params, 'kafka_')  # a KafkaConfigError here fails the module

    def factory():
        return pipeline.KafkaOffsets.connect(params['kafka_bootstrap_servers'], conf, params['request_timeout'])
    return factory


def make_pg_connect(params):
    """A connection factory for the heartbeat query (tests replace it)."""
    settings = dict(params, postgres_connect_timeout=params['postgres_connect_timeout'] or params['request_timeout'])
    pg.connect_kwargs(settings, 'postgres_')  # a PostgresError here fails the module

    def connect():
        try:
            return pg.connect(settings, 'postgres_', application_name='sluice-status', autocommit=True)
        except pg.PostgresError as e:
            raise pipeline.StatusError(str(e)) from None
    return connect


def make_get_json(params):
    return pipeline.make_get_json(timeout=params['request_timeout'], validate_certs=params['validate_certs'],
                                  ca_path=params['ca_path'])


def run(module):
    params = module.params
    if params['request_timeout'] < 1:
        module.fail_json(msg='request_timeout must be a positive integer (got %d)' % params['request_timeout'])
    try:
        client = make_client(params)
    except ConnectError as e:
        module.fail_json(msg=str(e))
    for key in ('postgres_password', 'kafka_sasl_password'):
        if params[key]:
            module.no_log_values.add(params[key])
    for value in (params['kafka_client_config'] or {}).values():
        if isinstance(value, str) and len(value) >= 4:
            module.no_log_values.add(value)
    try:
        kafka = make_kafka(params) if params['kafka_bootstrap_servers'] else None
        pg_connect = make_pg_connect(params) if params['postgres_host'] else None
    except (kafka_conn.KafkaConfigError, pg.PostgresError) as e:
        module.fail_json(msg=str(e))
    report = pipeline.gather(
        client,
        kafka=kafka,
        pg_connect=pg_connect,
        get_json=(make_get_json(params) if params['prometheus_url'] or params['alertmanager_url']
                  or params['supervisor_urls'] else None),
        connector_names=params['connectors'] or None, dlq_topics=params['dlq_topics'] or None,
        heartbeat_table=params['heartbeat_table'], heartbeat_column=params['heartbeat_column'],
        prometheus_url=params['prometheus_url'], alertmanager_url=params['alertmanager_url'],
        max_lag_seconds=params['max_lag_seconds'], max_consumer_lag=params['max_consumer_lag'],
        max_dlq_messages=params['max_dlq_messages'], supervisor_urls=params['supervisor_urls'] or None)
    if 'connectors' in report['errors']:
        module.fail_json(msg=report['errors']['connectors'], changed=False, **report)
    module.exit_json(changed=False, text=pipeline.render_text(report), **report)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            connectors=dict(type='list', elements='str', default=[]),
            dlq_topics=dict(type='list', elements='str', default=[]),
            heartbeat_table=dict(type='str', default='cdc.sluice_heartbeat'),
            heartbeat_column=dict(type='str', default='ts'),
            prometheus_url=dict(type='str'),
            alertmanager_url=dict(type='str'),
            supervisor_urls=dict(type='list', elements='str', default=[]),
            max_lag_seconds=dict(type='float', default=300),
            max_consumer_lag=dict(type='int'),
            max_dlq_messages=dict(type='int'),
            **CONNECTION_ARGUMENT_SPEC,
            **kafka_conn.argument_spec('kafka_', **pipeline.KAFKA_DEFAULTS),
            **pg.argument_spec('postgres_', **pipeline.POSTGRES_DEFAULTS),
        ),
        supports_check_mode=True,
    )
    run(module)


if __name__ == '__main__':
    main()

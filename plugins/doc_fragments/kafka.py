# Copyright: Sluice developers
# Apache License 2.0 (see LICENSE)
"""Kafka client connection options (module_utils/kafka_conn.py), generated from its argument spec."""

from ansible_collections.sluice.cdc.plugins.module_utils import kafka_conn
from ansible_collections.sluice.cdc.plugins.module_utils.doc_options import documentation

DESCRIPTIONS = {
    'bootstrap_servers': ['Kafka bootstrap servers as C(host:port), a list or a comma-separated string '
                          '(librdkafka C(bootstrap.servers)).'],
    'security_protocol': ['Protocol to the brokers (librdkafka C(security.protocol)). Unset: what '
                          'O({p}client_config) says, else V(PLAINTEXT).'],
    'sasl_mechanism': ['SASL mechanism (librdkafka C(sasl.mechanism)); Sluice\'s brokers use V(SCRAM-SHA-512).'],
    'sasl_username': ['SASL user (librdkafka C(sasl.username)).'],
    'sasl_password': ['Password of O({p}sasl_username) (librdkafka C(sasl.password)); never logged or returned.'],
    'ssl_ca_file': ['PEM file of the CA certificates that verify the brokers (librdkafka C(ssl.ca.location)).'],
    'ssl_cert_file': ['PEM file of a client certificate for mutual TLS (librdkafka C(ssl.certificate.location)).'],
    'ssl_key_file': ['PEM file of the private key of O({p}ssl_cert_file) (librdkafka C(ssl.key.location)).'],
    'ssl_check_hostname': ['Check that the broker certificate names the broker (librdkafka '
                           'C(ssl.endpoint.identification.algorithm) V(https), or V(none) when false). Written with '
                           'O({p}security_protocol=SSL) or V(SASL_SSL), or when false.'],
    'client_config': ['Further librdkafka settings, for example C(client.id) or C(socket.timeout.ms). A key that one '
                      'of the options above also sets (C(security.protocol), C(sasl.*), C(ssl.ca.location) ...) is '
                      'an error when that option is given; without the options such keys are passed as they are. '
                      'Never returned.'],
}


class ModuleDocFragment:
    DOCUMENTATION = documentation(kafka_conn.argument_spec(), DESCRIPTIONS)

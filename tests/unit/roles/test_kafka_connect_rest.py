"""The kafka_connect role's REST API lockdown, rendered without a host: the listener on the worker's address, basic
authentication, the client-override allowlist, the JAAS file in the unit, and the class path without FileStream."""
import yaml

from test_kafka_connect_otel import DEFAULTS, ROLE, exec_start, props, render

REST = {"kafka_connect_rest_bind_address": "10.0.0.5", "kafka_connect_bootstrap": "kafka-1:9092",
        "kafka_connect_advertised_host": "connect-1", "kafka_connect_group_id": "sluice-connect",
        "kafka_connect_brokers": ["kafka-1"]}


def test_worker_listens_on_its_address_with_basic_auth_and_an_allowlist():
    worker = props(render("connect-distributed.properties.j2", **REST))
    assert worker["listeners"] == "https://10.0.0.5:8083"
    assert worker["rest.extension.classes"] == \
        "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
    assert worker["connector.client.config.override.policy"] == "Allowlist"
    allowed = worker["connector.client.config.override.allowlist"].split(",")
    assert "max.poll.records" in allowed and "max.poll.interval.ms" in allowed
    assert not [k for k in allowed if k.startswith(("sasl.", "ssl.", "security.")) or "bootstrap" in k]


def test_without_auth_no_extension_and_no_jaas_option():
    worker = props(render("connect-distributed.properties.j2", kafka_connect_rest_auth_enabled=False, **REST))
    assert "rest.extension.classes" not in worker
    unit = exec_start(render("kafka-connect.service.j2", kafka_connect_rest_auth_enabled=False))
    assert "java.security.auth.login.config" not in unit


def test_unit_points_the_jvm_at_the_jaas_file_and_the_explicit_class_path():
    unit = exec_start(render("kafka-connect.service.j2"))
    assert "-Djava.security.auth.login.config=/etc/kafka-connect/rest-jaas.conf" in unit
    cp = unit.split(" -cp ", 1)[1].split()[0]
    assert "*" not in cp and cp.endswith("/var/cache/sluice/connect-basic-auth-extension-4.3.0.jar")


def test_the_class_path_leaves_filestream_out_unless_enabled():
    tasks = {t["name"]: t for t in yaml.safe_load((ROLE / "tasks" / "install.yml").read_text())}
    find = tasks["List the Kafka jars of the worker's class path"]["ansible.builtin.find"]
    assert "connect-file-*.jar" in find["excludes"] and "kafka_connect_filestream_enabled" in find["excludes"]
    assert DEFAULTS["kafka_connect_filestream_enabled"] is False and DEFAULTS["kafka_connect_rest_auth_enabled"] is True


def test_users_file_is_private_and_never_logged():
    tasks = {t["name"]: t for t in yaml.safe_load((ROLE / "tasks" / "configure.yml").read_text())}
    users = tasks["Write the REST API's users"]
    assert users["no_log"] is True and users["ansible.builtin.copy"]["mode"] == "0600"
    assert users["ansible.builtin.copy"]["owner"] == "{{ kafka_connect_user }}"


def test_worker_and_its_clients_log_in_to_kafka_with_scram_over_tls_by_reference():
    worker = props(render("connect-distributed.properties.j2", sluice_kafka_connect_password="k-secret", **REST))
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert worker[prefix + "security.protocol"] == "SASL_SSL"
        assert worker[prefix + "sasl.mechanism"] == "SCRAM-SHA-512"
        assert worker[prefix + "sasl.jaas.config"] == (
            'org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" '
            'password="${dir:/etc/kafka-connect/secrets:kafka_password}";')
        assert worker[prefix + "ssl.truststore.location"] == "/etc/ssl/sluice/ca.crt"
    assert "k-secret" not in render("connect-distributed.properties.j2", sluice_kafka_connect_password="k-secret", **REST)


def test_plaintext_worker_has_no_kafka_security_settings():
    worker = props(render("connect-distributed.properties.j2", kafka_connect_kafka_security_protocol="PLAINTEXT", **REST))
    assert not [k for k in worker if ("security.protocol" in k or "sasl." in k or "ssl.truststore" in k)
                and not k.startswith("listeners.https.")]


def test_kafka_password_file_is_private_never_logged_and_restarts_the_workers():
    tasks = {t["name"]: t for t in yaml.safe_load((ROLE / "tasks" / "configure.yml").read_text())}
    task = tasks["Write the workers' Kafka password"]
    assert task["no_log"] is True and task["ansible.builtin.copy"]["mode"] == "0600"
    assert task["notify"] == "Restart kafka-connect"


def test_https_with_pkcs12_stores_whose_password_is_a_reference():
    worker = props(render("connect-distributed.properties.j2", **REST))
    assert worker["rest.advertised.listener"] == "https"
    ref = "${dir:/etc/kafka-connect/secrets:rest_keystore_password}"
    assert worker["listeners.https.ssl.keystore.type"] == worker["listeners.https.ssl.truststore.type"] == "PKCS12"
    assert worker["listeners.https.ssl.keystore.location"] == "/etc/kafka-connect/tls/rest.p12"
    assert worker["listeners.https.ssl.truststore.location"] == "/etc/kafka-connect/tls/truststore.p12"
    assert worker["listeners.https.ssl.keystore.password"] == worker["listeners.https.ssl.truststore.password"] == ref
    assert worker["listeners.https.ssl.endpoint.identification.algorithm"] == "https"


def test_plain_http_when_asked_has_no_tls_settings():
    worker = props(render("connect-distributed.properties.j2", kafka_connect_rest_tls=False, **REST))
    assert worker["listeners"] == "http://10.0.0.5:8083"
    assert not [k for k in worker if k.startswith("listeners.https.") or k == "rest.advertised.listener"]


def test_rest_tls_tasks_keep_the_password_out_of_logs_and_the_stores_private():
    tasks = {t["name"]: t for t in yaml.safe_load((ROLE / "tasks" / "rest_tls.yml").read_text())}
    for name in ("Generate the key store password", "Read the key store password", "Pack the certificate and key as PKCS12",
                 "Put the CA into the trust store"):
        assert tasks[name]["no_log"] is True, name
    assert tasks["Generate the key store password"]["ansible.builtin.copy"]["force"] is False   # generated once
    assert tasks["Pack the certificate and key as PKCS12"]["community.crypto.openssl_pkcs12"]["mode"] == "0600"
    assert "-storepass:env PASS" in tasks["Put the CA into the trust store"]["ansible.builtin.shell"]["cmd"]

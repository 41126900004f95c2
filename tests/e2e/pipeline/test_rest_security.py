"""The Connect REST API locked down (role kafka_connect): HTTPS from the internal CA, basic authentication on every request, FileStream
connectors not loadable, client overrides limited to an allowlist, the API not on every interface — and the
disclosure that an open API allowed (a FileStream validate resolving ${dir:…} to the sink password) closed."""
import json

import pytest
import requests

from conftest import CA_FILE, connect_api, docker_exec, secret
from helpers import CONNECT, SINK, sink_password

FILESTREAM = "org.apache.kafka.connect.file.FileStreamSinkConnector"
JDBC_SINK = "io.debezium.connector.jdbc.JdbcSinkConnector"
SECRET_REF = "${dir:/etc/kafka-connect/secrets:postgres_sink_password}"
# What an unauthenticated client asks for: every read and write the API has.
REQUESTS = [("GET", "/"), ("GET", "/connectors?expand=status&expand=info"), ("GET", f"/connectors/{SINK}/config"),
            ("GET", "/connector-plugins?connectorsOnly=false"), ("GET", "/admin/loggers"),
            ("PUT", f"/connectors/{SINK}/pause"), ("DELETE", f"/connectors/{SINK}"),
            ("PUT", f"/connector-plugins/{FILESTREAM}/config/validate"),
            ("PUT", f"/connector-plugins/{JDBC_SINK}/config/validate")]


def validate(plugin, config, session):
    return session.put(f"{CONNECT}/connector-plugins/{plugin}/config/validate",
                       json={"connector.class": plugin, **config}, timeout=30)


@pytest.mark.parametrize("method,path", REQUESTS, ids=[f"{m} {p}" for m, p in REQUESTS])
def test_unauthenticated_and_wrong_password_requests_are_refused(method, path):
    body = {"connector.class": FILESTREAM, "file": SECRET_REF, "topics": "x"} if "validate" in path else None
    for auth in (None, ("sluice", "not-the-password"), ("nobody", secret("connect_rest_password"))):
        answer = requests.request(method, CONNECT + path, json=body, auth=auth, timeout=10, verify=str(CA_FILE))
        assert answer.status_code == 401, (auth and auth[0], answer.status_code, answer.text[:200])
        assert sink_password() not in answer.text
    # The sink was neither paused nor deleted by any of them.
    assert connect_api().get(f"{CONNECT}/connectors/{SINK}/status", timeout=10).json()["connector"]["state"] == "RUNNING"


def test_the_filestream_disclosure_is_closed_for_an_authenticated_user_too():
    plugins = [p["class"] for p in connect_api().get(f"{CONNECT}/connector-plugins?connectorsOnly=false",
                                                     timeout=10).json()]
    assert JDBC_SINK in plugins and not [p for p in plugins if "FileStream" in p], plugins
    answer = validate(FILESTREAM, {"file": SECRET_REF, "topics": "x"}, connect_api())
    assert answer.status_code in (400, 404, 500) and "FileStream" in answer.text, answer.text[:300]
    assert sink_password() not in answer.text


def test_no_response_of_the_api_holds_a_secret():
    password = sink_password()
    session = connect_api()
    for _method, path in REQUESTS:
        if _method == "GET":
            answer = session.get(CONNECT + path, timeout=10)
            assert answer.status_code == 200, (path, answer.status_code)
            assert password not in answer.text, path
    tasks = session.get(f"{CONNECT}/connectors/{SINK}/tasks", timeout=10)
    assert tasks.status_code == 200 and password not in tasks.text
    assert SECRET_REF in json.dumps(session.get(f"{CONNECT}/connectors/{SINK}/config", timeout=10).json()), \
        "the sink's config holds the reference, not the value"


def test_a_connector_cannot_override_its_clients_security_or_servers():
    base = {"topics": "x", "connection.url": "jdbc:postgresql://sluice-pg:5432/sluice",
            "connection.username": "sluice_sink"}
    allowed = validate(JDBC_SINK, {**base, "consumer.override.max.poll.records": "500"}, connect_api()).json()
    refused = validate(JDBC_SINK, {**base, "consumer.override.bootstrap.servers": "evil:9092",
                                   "consumer.override.security.protocol": "PLAINTEXT"}, connect_api()).json()

    def errors(answer, key):
        return [e for c in answer["configs"] if c["value"]["name"] == key for e in c["value"]["errors"]]

    assert errors(allowed, "consumer.override.max.poll.records") == []
    for key in ("consumer.override.bootstrap.servers", "consumer.override.security.protocol"):
        assert errors(refused, key), f"{key} was accepted"


def test_the_api_listens_on_the_worker_address_only():
    listening = docker_exec("sluice-connect", "sh", "-c", "cat /proc/net/tcp /proc/net/tcp6").stdout
    port = "%04X" % 8083
    local = [line.split()[1] for line in listening.splitlines()[1:]
             if len(line.split()) > 3 and line.split()[1].endswith(":" + port) and line.split()[3] == "0A"]
    assert local, "nothing listens on 8083"
    assert not [a for a in local if a.split(":")[0].strip("0") == ""], f"8083 bound to every interface: {local}"


def test_the_api_speaks_only_https_with_a_certificate_from_the_internal_ca():
    assert CONNECT.startswith("https://")
    auth = ("sluice", secret("connect_rest_password"))
    with pytest.raises(requests.exceptions.SSLError):        # not a publicly trusted certificate
        requests.get(CONNECT + "/", auth=auth, timeout=10)
    try:                                                       # plain HTTP on the same port gets no API
        plain = requests.get(CONNECT.replace("https://", "http://") + "/", auth=auth, timeout=10)
        assert plain.status_code != 200 and "version" not in plain.text
    except requests.exceptions.ConnectionError:
        pass
    assert requests.get(CONNECT + "/", auth=auth, timeout=10, verify=str(CA_FILE)).json()["version"]
    props = docker_exec("sluice-connect", "cat", "/etc/kafka-connect/connect-distributed.properties").stdout
    assert "listeners=https://" in props and "rest.advertised.listener=https" in props
    assert "${dir:/etc/kafka-connect/secrets:rest_keystore_password}" in props
    mode = docker_exec("sluice-connect", "stat", "-c", "%a %U", "/etc/kafka-connect/tls/rest.p12",
                       "/etc/kafka-connect/secrets/rest_keystore_password").stdout.split()
    assert mode == ["600", "kafka-connect", "600", "kafka-connect"]

"""scripts/sluice-status: arguments, exit codes, table and --json output, with fake sources; no password printed."""
import importlib.machinery
import importlib.util
import json
import pathlib

import pytest

from tests.support.status_fakes import SECRET, FakeConnect, FakeOffsets, FakePg, listing

ROOT = pathlib.Path(__file__).resolve().parents[3]


def load_cli():
    loader = importlib.machinery.SourceFileLoader("sluice_status_cli", str(ROOT / "scripts" / "sluice-status"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


cli = load_cli()


def run(capsys, argv, **sources):
    sources.setdefault("connect", FakeConnect())
    rc = cli.main(argv, sources=sources)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_healthy_table_exit_0(capsys):
    rc, out, _ = run(capsys, ["--bootstrap", "k:9092"], kafka=FakeOffsets(), pg_connect=FakePg(1.5))
    assert rc == 0
    assert out.startswith("Sluice pipeline: HEALTHY (exit 0)")
    assert "SINK CONSUMER LAG" in out and "DEAD-LETTER TOPICS" in out and "END-TO-END LAG  1.5 s" in out


def test_degraded_exit_1_and_json(capsys):
    connect = FakeConnect(listing(task_states=("FAILED",), trace="boom %s" % SECRET))
    rc, out, _ = run(capsys, ["--json", "--max-lag", "1"], connect=connect, pg_connect=FakePg(5.0))
    assert rc == 1
    report = json.loads(out)
    assert report["status"] == "degraded" and report["exit_status"] == 1
    assert report["problems"] == ["task sluice-postgres-sink/0 is FAILED: boom ********",
                                  "end-to-end lag 5.0 s is over 1 s"]
    assert SECRET not in out


def test_error_exit_2(capsys):
    from ansible_collections.sluice.cdc.plugins.module_utils.connect_client import ConnectError
    rc, out, _ = run(capsys, [], connect=FakeConnect(error=ConnectError("cannot reach Kafka Connect at http://x")))
    assert rc == 2 and "ERROR (exit 2)" in out and "cannot reach Kafka Connect at http://x" in out


def test_usage_errors_exit_2(capsys, tmp_path):
    assert cli.main(["--postgres", "postgresql://u:secret@h/db"]) == 2
    err = capsys.readouterr().err
    assert "no password in the URL" in err and "secret" not in err.replace("password", "")
    assert cli.main(["--postgres", "mysql://h/db"]) == 2
    assert cli.main(["--timeout", "0"]) == 2
    bad = tmp_path / "k.yml"
    bad.write_text("- a list\n")
    assert cli.main(["--bootstrap", "k:9092", "--kafka-config", str(bad)]) == 2
    assert "YAML mapping" in capsys.readouterr().err
    assert cli.main(["--connect-url", "ftp://x"]) == 2


def test_build_reads_settings_without_printing_passwords(tmp_path, monkeypatch):
    pw = tmp_path / "pw"
    pw.write_text("pg-hunter22\n")
    conf = tmp_path / "kafka.yml"
    conf.write_text("security.protocol: SASL_SSL\nsasl.password: kafka-secret\nenable.ssl.certificate.verification: false\n")
    args = cli.parse_args(["--connect-url", "http://c:8083", "--bootstrap", "k1:9092, k2:9092", "--kafka-config",
                           str(conf), "--postgres", "postgresql://sink@pg:5433/shop?sslmode=require",
                           "--postgres-password-file", str(pw), "--alertmanager-url", "http://am:9093",
                           "--timeout", "4"])
    sources = cli.build(args)
    assert sources["connect"].base_url == "http://c:8083" and sources["connect"].timeout == 4
    assert callable(sources["kafka"]) and callable(sources["pg_connect"]) and callable(sources["get_json"])
    assert cli.postgres_settings("postgresql://sink@pg:5433/shop?sslmode=require", str(pw)) == {
        "host": "pg", "port": 5433, "database": "shop", "user": "sink", "sslmode": "require", "password": "pg-hunter22"}
    assert cli.kafka_config(str(conf)) == {"security.protocol": "SASL_SSL", "sasl.password": "kafka-secret",
                                           "enable.ssl.certificate.verification": "false"}
    monkeypatch.setenv("SLUICE_POSTGRES_PASSWORD", "from-env")
    assert cli.postgres_settings("postgres://pg", None) == {"host": "pg", "port": 5432, "database": "sluice",
                                                            "user": "sluice_sink", "password": "from-env"}
    monkeypatch.delenv("SLUICE_POSTGRES_PASSWORD")
    assert "password" not in cli.postgres_settings("postgres://pg/db", None)
    psycopg = pytest.importorskip("psycopg")
    monkeypatch.setattr(psycopg, "connect", lambda **kw: kw)
    assert cli.pg_factory({"host": "pg", "database": "d"}, 3)() == {
        "host": "pg", "port": 5432, "dbname": "d", "sslmode": "prefer", "connect_timeout": 3,
        "application_name": "sluice-status", "autocommit": True}


def test_postgres_tls_from_the_url(tmp_path, monkeypatch):
    settings = cli.postgres_settings("postgresql://sink@pg/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem"
                                     "&sslcert=/c.pem&sslkey=/k.pem", None)
    fake = type("FakePsycopg", (), {"connect": staticmethod(lambda **kw: kw)})
    monkeypatch.setitem(__import__("sys").modules, "psycopg", fake)
    assert cli.pg_factory(settings, 5)() == {
        "host": "pg", "port": 5432, "dbname": "shop", "user": "sink", "sslmode": "verify-full",
        "sslrootcert": "/etc/ca.pem", "sslcert": "/c.pem", "sslkey": "/k.pem", "connect_timeout": 5,
        "application_name": "sluice-status", "autocommit": True}
    with pytest.raises(cli.UsageError, match="unsupported URL parameter"):
        cli.postgres_settings("postgresql://pg/shop?password=x", None)
    with pytest.raises(cli.UsageError, match="sslmode must be one of"):
        cli.pg_factory(cli.postgres_settings("postgresql://pg/shop?sslmode=sometimes", None), 5)
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)
    with pytest.raises(cli.status.StatusError, match="psycopg is needed"):
        cli.pg_factory(settings, 5)()


def test_kafka_security_flags(tmp_path, monkeypatch, capsys):
    pw = tmp_path / "kpw"
    pw.write_text("kafka-secret-9\n")
    seen = {}
    monkeypatch.setattr(cli.status.KafkaOffsets, "connect", staticmethod(lambda *a: seen.update(args=a)))
    argv = ["--bootstrap", "k1:9093,k2:9093", "--kafka-security-protocol", "SASL_SSL",
            "--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-username", "status",
            "--kafka-sasl-password-file", str(pw), "--kafka-ssl-ca-file", "/ca.pem", "--no-kafka-ssl-check-hostname"]
    cli.build(cli.parse_args(argv))["kafka"]()
    assert seen["args"] == (["k1:9093", "k2:9093"], {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "status",
        "sasl.password": "kafka-secret-9", "ssl.ca.location": "/ca.pem",
        "ssl.endpoint.identification.algorithm": "none"}, 15)
    monkeypatch.setenv("SLUICE_KAFKA_PASSWORD", "from-env")
    cli.build(cli.parse_args(argv[:8] + ["--kafka-ssl-cert-file", "/c.pem", "--kafka-ssl-key-file", "/k.pem"]))["kafka"]()
    assert seen["args"][1]["sasl.password"] == "from-env"
    assert seen["args"][1]["ssl.endpoint.identification.algorithm"] == "https"
    assert seen["args"][1]["ssl.certificate.location"] == "/c.pem"
    conf = tmp_path / "kafka.yml"
    conf.write_text("security.protocol: SSL\n")
    assert cli.main(argv[:4] + ["--kafka-config", str(conf)]) == 2
    assert capsys.readouterr().err == ("sluice-status: error: --kafka-config sets security.protocol, which "
                                       "--kafka-security-protocol sets: give each setting once\n")


def test_defaults_from_the_environment(monkeypatch):
    monkeypatch.setenv("SLUICE_CONNECT_URL", "http://env:8083")
    monkeypatch.setenv("SLUICE_KAFKA_BOOTSTRAP", "envk:9092")
    args = cli.parse_args([])
    assert args.connect_url == "http://env:8083" and args.bootstrap == "envk:9092" and args.max_lag == 300.0
    assert cli.kafka_config(None) == {}


def test_connect_basic_auth_from_a_file_or_the_environment(tmp_path, monkeypatch):
    pw = tmp_path / "connect_pw"
    pw.write_text("rest-secret\n")
    client = cli.build(cli.parse_args(["--connect-user", "sluice", "--connect-password-file", str(pw)]))["connect"]
    assert (client.url_username, client.url_password) == ("sluice", "rest-secret")
    monkeypatch.setenv("SLUICE_CONNECT_USER", "ops")
    monkeypatch.setenv("SLUICE_CONNECT_PASSWORD", "env-secret")
    client = cli.build(cli.parse_args([]))["connect"]
    assert (client.url_username, client.url_password) == ("ops", "env-secret")
    monkeypatch.delenv("SLUICE_CONNECT_PASSWORD")
    with pytest.raises(cli.UsageError, match="needs a password"):
        cli.build(cli.parse_args([]))

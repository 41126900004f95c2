"""TLS between the PostgreSQL target and its clients, rendered without a host: the server's ssl settings and its
hostssl entries, the exporter's DSN and the JDBC sink's URL (verify-full against the internal CA, or plaintext when
the inventory turns TLS off)."""
import pathlib

import yaml

from tests.support.templating import role_env

ROLES = pathlib.Path(__file__).resolve().parents[3] / "roles"


def defaults(role):
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())


def expand(value, context):
    """A role variable as Ansible would template it, given the other variables."""
    return role_env(ROLES).from_string(value).render(**context)


def server_conf(**overrides):
    return role_env(ROLES / "postgresql_target" / "templates").get_template("sluice.conf.j2").render(
        ansible_managed="managed", **(defaults("postgresql_target") | overrides))


def test_the_server_has_tls_on_with_the_issued_certificate():
    conf = server_conf()
    assert "ssl = on" in conf
    assert "ssl_cert_file = '/etc/postgresql/sluice-tls/server.crt'" in conf
    assert "ssl_key_file = '/etc/postgresql/sluice-tls/server.key'" in conf
    assert "ssl_min_protocol_version = 'TLSv1.2'" in conf
    assert "ssl" not in server_conf(postgresql_target_tls_enabled=False).replace("password_encryption", "")


def test_the_sink_entries_are_hostssl_and_the_other_kind_is_removed():
    contype = yaml.safe_load((ROLES / "postgresql_target" / "vars" / "main.yml").read_text())["__postgresql_target_contype"]
    assert expand(contype, {"postgresql_target_tls_enabled": True}) == "hostssl"
    assert expand(contype, {"postgresql_target_tls_enabled": False}) == "host"
    tasks = {t["name"]: t for t in yaml.safe_load((ROLES / "postgresql_target" / "tasks" / "server.yml").read_text())}
    removal = tasks["Remove the sink's entries of the other connection type"]["community.postgresql.postgresql_pg_hba"]
    assert removal["state"] == "absent"
    assert expand(removal["contype"], {"postgresql_target_tls_enabled": True}) == "host"


def exporter_dsn(**overrides):
    context = defaults("postgres_exporter") | {"ansible_managed": "managed"} | overrides
    for key in ("postgres_exporter_db_sslmode", "postgres_exporter_db_port", "postgres_exporter_database"):
        context[key] = expand(str(context[key]), context)
    text = role_env(ROLES / "postgres_exporter" / "templates").get_template(
        "prometheus-postgres-exporter.default.j2").render(**context)
    return next(line for line in text.splitlines() if line.startswith("DATA_SOURCE_URI="))


def test_the_exporter_verifies_the_server_unless_tls_is_off():
    assert exporter_dsn() == \
        'DATA_SOURCE_URI="127.0.0.1:5432/sluice?sslmode=verify-full&sslrootcert=/etc/ssl/sluice/ca.crt"'
    assert exporter_dsn(postgresql_target_tls_enabled=False) == 'DATA_SOURCE_URI="127.0.0.1:5432/sluice?sslmode=disable"'


def sink_url(**overrides):
    context = defaults("connectors") | {"groups": {"postgresql_target": ["pg-1"]}} | overrides
    for key in ("connectors_postgres_host", "connectors_postgres_database", "connectors_postgres_sslmode",
                "connectors_postgres_sslrootcert"):
        context[key] = expand(str(context[key]), context)
    url = yaml.safe_load((ROLES / "connectors" / "vars" / "main.yml").read_text())["connectors_sink_base_config"]
    return expand(url["connection.url"], context)


def test_the_sink_url_asks_for_verify_full_against_the_ca_on_the_connect_host():
    assert sink_url() == ("jdbc:postgresql://pg-1:5432/sluice?sslmode=verify-full&sslrootcert=/etc/ssl/sluice/ca.crt"
                          "&reWriteBatchedInserts=true&options=-c%20plan_cache_mode%3Dforce_custom_plan")
    assert "&sslrootcert=/etc/pki/ca.pem&" in sink_url(kafka_connect_ca_file="/etc/pki/ca.pem")
    assert sink_url(postgresql_target_tls_enabled=False, connectors_postgres_plan_cache_mode="auto") == (
        "jdbc:postgresql://pg-1:5432/sluice?sslmode=disable&reWriteBatchedInserts=true")


def test_batched_inserts_rewriting_can_be_turned_off():
    assert sink_url(connectors_postgres_rewrite_batched_inserts=False,
                    connectors_postgres_plan_cache_mode="auto").endswith("sslrootcert=/etc/ssl/sluice/ca.crt")


def test_the_sink_plans_every_statement_for_the_table_it_has_now():
    assert sink_url().endswith("&options=-c%20plan_cache_mode%3Dforce_custom_plan")
    assert "plan_cache_mode" not in sink_url(connectors_postgres_plan_cache_mode="auto")

"""Role schema_registry and connectors_serialization, rendered without a host: the unit's HTTPS-only listener and
file storage, the pins shared with versions.env, and the converter settings the connectors role adds for Avro."""
import pathlib

import yaml

from tests.support.templating import role_env, role_vars

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "schema_registry"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
CONNECT_PLUGINS = yaml.safe_load((ROOT / "roles" / "kafka_connect" / "defaults" / "main.yml").read_text())[
    "kafka_connect_plugins"]


def pins():
    lines = (ROOT / "versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def unit(**overrides):
    values = dict(ansible_managed="managed by Ansible", **overrides)
    env = role_env(ROLE / "templates")
    text = env.get_template("apicurio-registry.service.j2").render(role_vars(ROLE, **values))
    return text.replace("\\\n", " ")


def exec_start(text):
    return next(line for line in text.splitlines() if line.startswith("ExecStart="))


def test_versions_agree_with_the_artifact_pins():
    version = pins()["APICURIO_REGISTRY_VERSION"]
    assert DEFAULTS["schema_registry_version"] == version
    assert f"apicurio-registry-converter-{version}-plugin.tar.gz" in CONNECT_PLUGINS
    script = (ROOT / "scripts" / "fetch-artifacts").read_text()
    assert '"apicurio-registry-app-${APICURIO_REGISTRY_VERSION}-all.tar.gz"' in script
    assert '"apicurio-registry-converter-${APICURIO_REGISTRY_VERSION}-plugin.tar.gz"' in script


def test_unit_listens_on_https_only_and_stores_schemas_in_a_file():
    cmd = exec_start(unit())
    assert "-Dquarkus.http.ssl-port=8081" in cmd and "-Dquarkus.http.insecure-requests=disabled" in cmd
    assert "-Dquarkus.http.ssl.certificate.files=/etc/apicurio-registry/tls/schema-registry.crt" in cmd
    assert "-Dquarkus.http.ssl.certificate.key-files=/etc/apicurio-registry/tls/schema-registry.key" in cmd
    # not the distribution's default jdbc:h2:mem:, which loses every schema id on a restart
    assert "-DREGISTRY_DATASOURCE_URL=jdbc:h2:file:/var/lib/apicurio-registry/registry" in cmd
    assert "-Xmx256m" in cmd
    assert cmd.rstrip().endswith(
        "-jar /opt/apicurio-registry/releases/2.6.13.Final/apicurio-registry-app-2.6.13.Final-runner.jar")


def test_unit_writes_only_its_data_directory():
    text = unit(schema_registry_data_dir="/srv/registry")
    assert "ReadWritePaths=/srv/registry" in text
    assert "jdbc:h2:file:/srv/registry/registry" in text


def connectors(**inventory):
    return role_vars(ROOT / "roles" / "connectors", strict=False, **inventory)


def test_json_adds_no_converter_settings():
    assert connectors()["__connectors_converter_config"] == {}


def test_avro_sets_apicurio_converters_for_keys_and_values():
    config = connectors(connectors_serialization="avro", groups={"schema_registry": ["reg-1"]},
                        hostvars={"reg-1": {"schema_registry_port": 8443}})["__connectors_converter_config"]
    assert set(config) == {f"{side}.converter{suffix}" for side in ("key", "value") for suffix in (
        "", ".apicurio.registry.url", ".apicurio.registry.auto-register",
        ".apicurio.registry.request.ssl.truststore.location", ".apicurio.registry.request.ssl.truststore.type",
        ".apicurio.registry.request.ssl.truststore.password")}
    assert config["value.converter"] == "io.apicurio.registry.utils.converter.AvroConverter"
    assert config["key.converter.apicurio.registry.url"] == "https://reg-1:8443/apis/registry/v2"
    assert config["value.converter.apicurio.registry.request.ssl.truststore.location"] == \
        "/etc/kafka-connect/tls/truststore.p12"
    # a reference resolved by the worker's config provider: no secret in the connector config
    assert config["value.converter.apicurio.registry.request.ssl.truststore.password"] == \
        "${dir:/etc/kafka-connect/secrets:rest_keystore_password}"


def test_avro_url_defaults_to_the_first_registry_host_and_port():
    config = connectors(connectors_serialization="avro", groups={"schema_registry": ["reg-1", "reg-2"]},
                        hostvars={"reg-1": {}})["__connectors_converter_config"]
    assert config["value.converter.apicurio.registry.url"] == "https://reg-1:8081/apis/registry/v2"

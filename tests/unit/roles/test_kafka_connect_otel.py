"""The kafka_connect role's OpenTelemetry agent wiring, rendered without a host: the unit's JVM options and the
agent's properties file with the agent on and off, and the pin shared with versions.env."""
import pathlib

import pytest
import yaml

from tests.support.templating import role_env, role_vars

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "kafka_connect"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]


def pins():
    lines = (ROOT / "versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def render(template, **overrides):
    env = role_env(ROLE / "templates")
    values = dict(ansible_managed="managed by Ansible", inventory_hostname="connect-1",
                  kafka_connect_libs_dir="/opt/kafka/releases/2.13-4.3.0/libs",
                  kafka_connect_otel_service_name="sluice-connect", ansible_default_ipv4={"address": "10.0.0.5"},
                  __kafka_connect_classpath="/opt/kafka/releases/2.13-4.3.0/libs/connect-runtime-4.3.0.jar:"
                                            "/var/cache/sluice/connect-basic-auth-extension-4.3.0.jar")
    values.update(overrides)
    return env.get_template(template).render(role_vars(ROLE, strict=False, **values))


def props(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def exec_start(unit):
    """The ExecStart command as one line (continuations joined)."""
    text = unit.replace("\\\n", " ")
    return next(line for line in text.splitlines() if line.startswith("ExecStart="))


def test_agent_default_matches_the_artifact_pin():
    assert DEFAULTS["kafka_connect_otel_file"] == f"opentelemetry-javaagent-{pins()['OTEL_JAVAAGENT_VERSION']}.jar"
    assert DEFAULTS["kafka_connect_otel_enabled"] is False
    assert SPECS["kafka_connect_otel_file"]["default"] == DEFAULTS["kafka_connect_otel_file"]
    assert set(SPECS["kafka_connect_otel_exporter"]["choices"]) >= {"otlp", "logging"}


def test_fetch_artifacts_mirrors_the_agent():
    script = (ROOT / "scripts" / "fetch-artifacts").read_text()
    assert "io.opentelemetry.javaagent:opentelemetry-javaagent:${OTEL_JAVAAGENT_VERSION}" in script
    assert '"opentelemetry-javaagent-${OTEL_JAVAAGENT_VERSION}.jar"' in script


def test_unit_without_the_agent_has_no_otel_option():
    cmd = exec_start(render("kafka-connect.service.j2"))
    assert "opentelemetry" not in cmd and "otel" not in cmd
    # the JMX exporter agent is still there, and the main class comes last
    assert "-javaagent:/var/cache/sluice/jmx_prometheus_javaagent-1.0.1.jar=9405:/etc/kafka-connect/jmx-exporter.yml" in cmd
    assert cmd.rstrip().endswith("org.apache.kafka.connect.cli.ConnectDistributed "
                                 "/etc/kafka-connect/connect-distributed.properties")


@pytest.mark.parametrize("jmx", [True, False])
def test_unit_with_the_agent_loads_it_before_the_main_class(jmx):
    cmd = exec_start(render("kafka-connect.service.j2", kafka_connect_otel_enabled=True,
                            kafka_connect_jmx_exporter_enabled=jmx, kafka_connect_jvm_opts=["-Dfoo=bar"]))
    agent = "-javaagent:/var/cache/sluice/opentelemetry-javaagent-2.26.0.jar"
    conf = "-Dotel.javaagent.configuration-file=/etc/kafka-connect/otel.properties"
    assert agent in cmd and conf in cmd
    assert cmd.index(agent) < cmd.index(conf) < cmd.index("-cp ")
    assert ("jmx_prometheus_javaagent" in cmd) is jmx
    assert cmd.index(conf) < cmd.index("-Dfoo=bar")


def test_logging_exporter_properties():
    p = props(render("otel.properties.j2", kafka_connect_otel_enabled=True, kafka_connect_otel_exporter="logging"))
    assert p["otel.traces.exporter"] == "logging"
    assert p["otel.metrics.exporter"] == "none" and p["otel.logs.exporter"] == "none"
    assert p["otel.service.name"] == "sluice-connect"
    assert "otel.exporter.otlp.endpoint" not in p
    assert p["otel.resource.attributes"] == "service.namespace=sluice,service.instance.id=connect-1"
    assert p["otel.traces.sampler"] == "parentbased_always_on" and "otel.traces.sampler.arg" not in p


def test_otlp_exporter_properties_with_sampling_and_extras():
    p = props(render("otel.properties.j2", kafka_connect_otel_enabled=True, kafka_connect_otel_exporter="otlp",
                     kafka_connect_otel_endpoint="http://jaeger-1:4317", kafka_connect_otel_protocol="grpc",
                     kafka_connect_otel_sampler="parentbased_traceidratio", kafka_connect_otel_sampler_arg="0.25",
                     kafka_connect_otel_resource_attributes={"deployment.environment": "prod"},
                     kafka_connect_otel_properties={"otel.instrumentation.jdbc.enabled": False}))
    assert p["otel.traces.exporter"] == "otlp"
    assert p["otel.exporter.otlp.endpoint"] == "http://jaeger-1:4317"
    assert p["otel.exporter.otlp.protocol"] == "grpc"
    assert p["otel.traces.sampler.arg"] == "0.25"
    assert p["otel.resource.attributes"] == ("service.namespace=sluice,service.instance.id=connect-1,"
                                             "deployment.environment=prod")
    assert p["otel.instrumentation.jdbc.enabled"] == "false"


def test_role_checks_the_endpoint_and_installs_the_agent_only_when_enabled():
    main = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    check = next(t for t in main if t["name"] == "Check the OpenTelemetry settings")
    assert check["when"] == "kafka_connect_otel_enabled"
    assert "kafka_connect_otel_exporter != 'otlp' or kafka_connect_otel_endpoint | length > 0" in \
        check["ansible.builtin.assert"]["that"]
    install = yaml.safe_load((ROLE / "tasks" / "install.yml").read_text())
    fetch = next(t for t in install if t["name"] == "Fetch the OpenTelemetry Java agent")
    assert fetch["when"] == "kafka_connect_otel_enabled"
    assert fetch["vars"]["install_artifact_file"] == "{{ kafka_connect_otel_file }}"
    configure = yaml.safe_load((ROLE / "tasks" / "configure.yml").read_text())
    write = next(t for t in configure if t["name"] == "Write the OpenTelemetry agent configuration")
    assert write["when"] == "kafka_connect_otel_enabled" and write["notify"] == "Restart kafka-connect"

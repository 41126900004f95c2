"""Role supervisor, read and rendered without a host: its Kafka login (SASL_SSL/SCRAM by default, PLAINTEXT possible)
goes into config.yml through the Kafka layer's keys with the password only in a 0600 file; confluent-kafka comes from
the mirror's PyPI wheel (pinned in versions.env = requirements.txt), unpacked per version and first on PYTHONPATH."""
import pathlib
import re

import jinja2
import pytest
import yaml

from ansible_collections.sluice.cdc.plugins.module_utils.supervisor import config as cfg
from tests.support.templating import evaluate, native_env, role_env

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "supervisor"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
TASKS = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
BY_NAME = {t["name"]: t for t in TASKS}
OMIT = "__omit_place_holder__"
WHEEL = "confluent_kafka-2.16.1-cp311-cp311-manylinux_2_28_x86_64.whl"


def pins():
    lines = (ROOT / "versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


NATIVE = native_env(ROLE / "templates")


def template(value, ctx):
    return evaluate(value, ctx, NATIVE)


def host_vars(**inventory):
    """The role's defaults and vars resolved against `inventory` (as Ansible does, lazily: here in passes)."""
    ctx = dict(inventory_hostname="connect-1", groups={}, hostvars={}, omit=OMIT, ansible_managed="managed")
    ctx.update(inventory)
    pending = {k: v for k, v in {**DEFAULTS, **VARS}.items() if k not in inventory}
    for _ in range(len(pending) + 1):
        for name, value in list(pending.items()):
            try:
                ctx[name] = template(value, ctx)
            except jinja2.UndefinedError:
                continue
            del pending[name]
        if not pending:
            return ctx
    raise AssertionError("unresolved defaults: %s" % sorted(pending))


def run_tasks(ctx, until):
    """Apply the set_fact tasks up to the task named `until` (assert tasks are checked on the way)."""
    for task in TASKS:
        if task["name"] == until:
            return ctx
        if "ansible.builtin.set_fact" in task:
            ctx.update(template(task["ansible.builtin.set_fact"], ctx))
        elif "ansible.builtin.assert" in task:
            check = task["ansible.builtin.assert"]
            failed = [c for c in check["that"] if NATIVE.from_string("{{ %s }}" % c).render(ctx) is not True]
            if failed:
                raise AssertionError(template(check["fail_msg"], ctx))
    raise KeyError(until)


def configured(**inventory):
    ctx = run_tasks(host_vars(kafka_connect_bootstrap_servers="kafka-1:9093", **inventory), "Install the Python libraries")
    text = role_env(ROLE / "templates").get_template("config.yml.j2").render(ctx)
    return ctx, text


def test_versions_env_pins_the_wheel_of_requirements_txt_and_the_role_default():
    requirements = dict(line.split("==", 1) for line in (ROOT / "requirements.txt").read_text().splitlines()
                        if "==" in line and not line.startswith("#"))
    assert pins()["SUPERVISOR_CONFLUENT_KAFKA_VERSION"] == requirements["confluent-kafka"] \
        == DEFAULTS["supervisor_confluent_kafka_version"] == SPECS["supervisor_confluent_kafka_version"]["default"]
    assert re.fullmatch(r"[0-9a-f]{64}", pins()["SUPERVISOR_CONFLUENT_KAFKA_WHEEL_SHA256"])
    assert host_vars()["supervisor_confluent_kafka_file"] == WHEEL
    assert DEFAULTS["supervisor_confluent_kafka_url"] == ""   # the mirror, never a default internet URL


def test_fetch_artifacts_mirrors_the_pinned_wheel_through_pip():
    script = (ROOT / "scripts" / "fetch-artifacts").read_text()
    assert '"confluent_kafka-${SUPERVISOR_CONFLUENT_KAFKA_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"' in script
    assert "confluent-kafka==${SUPERVISOR_CONFLUENT_KAFKA_VERSION} --hash=sha256:${SUPERVISOR_CONFLUENT_KAFKA_WHEEL_SHA256}" \
        in script
    assert "--platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311" in script
    assert not re.search(r"pypi\.org|pythonhosted|https?://(?!maven\.apache\.org/POM/)", script)  # no registry host


def test_debian_confluent_kafka_is_not_installed_any_more():
    assert DEFAULTS["supervisor_packages"] == ["python3-yaml"] == SPECS["supervisor_packages"]["default"]


def test_every_default_is_documented_with_its_value():
    assert set(DEFAULTS) == set(SPECS)
    for name in ("supervisor_kafka_security_protocol", "supervisor_kafka_sasl_mechanism", "supervisor_kafka_username",
                 "supervisor_kafka_password", "supervisor_kafka_ca_file", "supervisor_controller_kafka_login",
                 "supervisor_confluent_kafka_file"):
        assert SPECS[name]["default"] == DEFAULTS[name], name
    assert DEFAULTS["supervisor_kafka_security_protocol"] == "SASL_SSL"
    assert DEFAULTS["supervisor_kafka_sasl_mechanism"] == "SCRAM-SHA-512"
    assert SPECS["supervisor_kafka_password"]["no_log"] is True


def test_sasl_ssl_login_goes_into_the_config_and_the_password_only_into_its_file(tmp_path):
    ctx, text = configured(sluice_kafka_supervisor_password="s3cret-pw")
    assert "s3cret-pw" not in text
    config = cfg.validate(yaml.safe_load(text))
    assert {k: config[k] for k in ("kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username",
                                   "kafka_sasl_password_file", "kafka_ssl_ca_file")} == {
        "kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "supervisor", "kafka_sasl_password_file": "/etc/sluice-supervisor/kafka_password",
        "kafka_ssl_ca_file": "/etc/ssl/sluice/ca.crt"}
    # The file the role writes, as the service reads it.
    task = BY_NAME["Write the Kafka SASL password"]
    copy = task["ansible.builtin.copy"]
    assert copy["dest"] == "{{ supervisor_config_dir }}/kafka_password" and copy["mode"] == "0600"
    assert copy["owner"] == "{{ supervisor_user }}" and task["no_log"] is True and task["diff"] is False
    assert template("{{ %s }}" % task["when"], ctx) is True
    (tmp_path / "kafka_password").write_text(template(copy["content"], ctx))
    assert cfg.kafka_client_config(dict(config, kafka_sasl_password_file=str(tmp_path / "kafka_password"))) == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "supervisor",
        "sasl.password": "s3cret-pw", "ssl.ca.location": "/etc/ssl/sluice/ca.crt",
        "ssl.endpoint.identification.algorithm": "https"}


def test_plaintext_writes_no_sasl_or_tls_key_and_needs_no_password():
    ctx, text = configured(supervisor_kafka_security_protocol="PLAINTEXT")
    config = cfg.validate(yaml.safe_load(text))
    assert config["kafka_security_protocol"] == "PLAINTEXT"
    assert [config[k] for k in ("kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password_file",
                                "kafka_ssl_ca_file")] == [None] * 4
    assert cfg.kafka_client_config(config) == {"security.protocol": "PLAINTEXT"}
    assert template("{{ %s }}" % BY_NAME["Write the Kafka SASL password"]["when"], ctx) is False
    assert template("{{ %s }}" % BY_NAME["Remove the Kafka SASL password without a SASL protocol"]["when"], ctx) is True


def test_ssl_verifies_against_the_ca_without_a_login():
    _, text = configured(supervisor_kafka_security_protocol="SSL")
    assert cfg.kafka_client_config(cfg.validate(yaml.safe_load(text))) == {
        "security.protocol": "SSL", "ssl.ca.location": "/etc/ssl/sluice/ca.crt",
        "ssl.endpoint.identification.algorithm": "https"}


@pytest.mark.parametrize("inventory", [
    {},                                                                        # no sluice_kafka_supervisor_password
    {"sluice_kafka_supervisor_password": "pw", "supervisor_kafka_username": ""},
    {"supervisor_kafka_security_protocol": "SASL_PLAINTEXT"},
])
def test_a_sasl_protocol_needs_a_user_and_a_password(inventory):
    with pytest.raises(AssertionError) as failed:
        configured(**inventory)
    assert "supervisor_kafka_username" in str(failed.value) and "supervisor_kafka_password" in str(failed.value)
    assert "sluice_kafka_supervisor_password" in str(failed.value)


def test_the_leader_topic_is_created_with_the_controllers_admin_login():
    task = BY_NAME["Create the leader topic (one partition; its owner in the group is the active supervisor)"]
    assert task["no_log"] is True and task["delegate_to"] == "localhost" and task["run_once"] is True
    login = {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "sluice-admin",
             "sasl_password": "admin-pw", "ssl_ca_file": "/home/me/sluice/pki/ca.crt"}
    args = task["sluice.cdc.kafka_topic"]
    ctx = run_tasks(host_vars(kafka_connect_bootstrap_servers="kafka-1:9093", sluice_kafka_supervisor_password="x",
                              sluice_kafka_admin_login=login), task["name"])
    rendered = {k: template(v, ctx) for k, v in args.items() if k in login}
    assert rendered == login
    ctx = run_tasks(host_vars(kafka_connect_bootstrap_servers="kafka-1:9093", sluice_kafka_supervisor_password="x"),
                    task["name"])
    assert {k: template(v, ctx) for k, v in args.items() if k in login} == {k: OMIT for k in login}


def test_every_task_that_handles_a_kafka_password_is_not_logged():
    for task in TASKS:
        body = yaml.safe_dump({k: v for k, v in task.items() if k not in ("name", "ansible.builtin.assert")})
        if re.search(r"supervisor_kafka_password\s*\}\}|supervisor_kafka_secret_config\s*\|\s*to_nice_yaml"
                     r"|\.sasl_password\b", body):
            assert task.get("no_log") is True, task["name"]


def test_the_wheel_is_fetched_from_the_mirror_and_unpacked_once_per_version():
    fetch = BY_NAME["Fetch the confluent-kafka wheel"]
    assert fetch["ansible.builtin.include_role"]["name"] == "sluice.cdc.install_artifact"
    assert fetch["vars"]["install_artifact_file"] == "{{ supervisor_confluent_kafka_file }}"
    ctx = host_vars()
    directory = "/opt/sluice-supervisor/lib/confluent-kafka-2.16.1"
    assert ctx["__supervisor_confluent_kafka_dir"] == directory
    unpack = BY_NAME["Unpack the confluent-kafka wheel"]["ansible.builtin.command"]
    assert template(unpack["argv"], dict(ctx, install_artifact_path="/var/cache/sluice/" + WHEEL)) == [
        "/usr/bin/python3", "-m", "zipfile", "-e", "/var/cache/sluice/" + WHEEL, directory + ".part"]
    assert template(unpack["creates"], ctx) == directory
    move = BY_NAME["Put the unpacked confluent-kafka in place"]["ansible.builtin.command"]
    assert template(move["argv"], ctx) == ["mv", "-T", directory + ".part", directory]
    assert template(move["creates"], ctx) == directory and template(move["removes"], ctx) == directory + ".part"
    order = [t["name"] for t in TASKS]
    assert order.index("Install the engine package and the CLIs") < order.index("Unpack the confluent-kafka wheel") \
        < order.index("Check that the host's python3 loads this confluent-kafka and its librdkafka") \
        < order.index("Install the systemd unit")


def test_the_unit_and_sluice_dlq_put_the_wheel_first_on_pythonpath():
    ctx = host_vars()
    unit = role_env(ROLE / "templates").get_template("sluice-supervisor.service.j2").render(ctx)
    assert "Environment=PYTHONPATH=/opt/sluice-supervisor/lib/confluent-kafka-2.16.1\n" in unit
    dlq = BY_NAME["Put sluice-dlq on the PATH, with the supervisor's confluent-kafka"]["ansible.builtin.copy"]
    assert dlq["follow"] is False and dlq["mode"] == "0755" and dlq["dest"] == "/usr/local/bin/sluice-dlq"
    assert template(dlq["content"], ctx).splitlines()[-1] == (
        "PYTHONPATH=/opt/sluice-supervisor/lib/confluent-kafka-2.16.1${PYTHONPATH:+:$PYTHONPATH} "
        'exec /usr/bin/python3 /opt/sluice-supervisor/bin/sluice-dlq "$@"')

"""Shared helpers for end-to-end tests against a converged Molecule scenario.

The scenario publishes every service on 127.0.0.1 with fixed ports (see its molecule.yml); the tests run on the host.
"""
import functools
import json
import os
import pathlib
import re
import subprocess
import sys

import psycopg
import pytest
import requests

from tests.support.kafka_login import kafka_admin_settings

ROOT = pathlib.Path(__file__).resolve().parents[2]
SECRETS = pathlib.Path(os.environ.get("SLUICE_SECRETS_DIR") or ROOT / ".cache" / "secrets")
CA_FILE = SECRETS / "pki" / "ca.crt"   # the scenario's internal CA (role pki)
CONNECT_USER = "sluice"   # sluice_connect_username in the scenarios' inventories


def secret(name):
    """A secret the scenario's inventory generated into the secrets directory."""
    return (SECRETS / name).read_text().strip()


def pg_session(port, **settings):
    """The scenario's PostgreSQL target (published on 127.0.0.1:<port>) as the sink's login, verified over TLS
    against the scenario's CA like every client of the target. Never server-side prepared: tests change column
    types, and a plan prepared before fails after ("cached plan must not change result type")."""
    return psycopg.connect(**{
        "host": "127.0.0.1", "port": port, "dbname": "sluice", "user": "sluice_sink",
        "password": secret("postgres_sink_password"), "sslmode": "verify-full", "sslrootcert": str(CA_FILE),
        "autocommit": True, "connect_timeout": 5, "prepare_threshold": None, **settings})


def kafka_module_login():
    """The Kafka login options of the sluice.cdc Kafka modules (kafka_topic; pipeline_status with a kafka_ prefix):
    the Sluice admin over SASL_SSL, brokers verified against the scenario's CA, as the inventories'
    sluice_kafka_admin_login."""
    conf = kafka_admin_settings(SECRETS)
    return {"security_protocol": conf["security.protocol"], "sasl_mechanism": conf["sasl.mechanism"],
            "sasl_username": conf["sasl.username"], "sasl_password": conf["sasl.password"],
            "ssl_ca_file": conf["ssl.ca.location"]}


def kafka_client(bootstrap, **settings):
    """librdkafka settings for a test's producer, consumer or admin client: the scenario's Kafka at ``bootstrap`` as
    the Sluice admin (tests/support/kafka_login.py), plus ``settings`` (dotted keys: pass a dict with **)."""
    return {"bootstrap.servers": bootstrap, **kafka_admin_settings(SECRETS), **settings}


def kafka_cli_login():
    """The same login as command-line flags of sluice-dlq / sluice-status (the password by file, never on argv)."""
    return ["--kafka-security-protocol", "SASL_SSL", "--kafka-sasl-mechanism", "SCRAM-SHA-512",
            "--kafka-sasl-username", kafka_admin_settings(SECRETS)["sasl.username"],
            "--kafka-sasl-password-file", str(SECRETS / "kafka_admin_password"), "--kafka-ssl-ca-file", str(CA_FILE)]


def connect_login():
    """The Connect REST API's options for the sluice.cdc.connect modules: basic auth, HTTPS verified by the CA."""
    return {"url_username": CONNECT_USER, "url_password": secret("connect_rest_password"), "ca_path": str(CA_FILE)}


@functools.lru_cache(maxsize=None)
def connect_api():
    """An HTTP session that authenticates to the Connect REST API as the scenario's user."""
    session = requests.Session()
    session.auth = (CONNECT_USER, secret("connect_rest_password"))
    session.verify = str(CA_FILE)   # HTTPS from the internal CA
    session.trust_env = False        # else $REQUESTS_CA_BUNDLE replaces session.verify (psf/requests#3829)
    return session


def ansible_env():
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / "collections")
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)  # Molecule's profile_tasks would break the JSON output
    env.pop("ANSIBLE_FORCE_COLOR", None)  # Molecule forces colour; recaps are parsed below
    env["ANSIBLE_NOCOLOR"] = "1"
    # The inventories generate missing secrets beside themselves: point them at the scenario's.
    env["SLUICE_SECRETS_DIR"] = str(SECRETS)
    return env


def bin_path(name):
    return str(pathlib.Path(sys.executable).parent / name)


def run_module(module, args, check=False, diff=False):
    """Run one module on the implicit localhost (the controller) and return its result dict."""
    cmd = [bin_path("ansible"), "localhost", "-i", "/dev/null", "-m", module, "-a", json.dumps(args)]
    cmd += ["--check"] * check + ["--diff"] * diff
    env = ansible_env() | {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible printed no JSON:\n{out.stdout}\n{out.stderr}") from None
    return report["plays"][0]["tasks"][0]["hosts"]["localhost"]


def run_playbook(playbook, inventory, *extra):
    """Run a playbook; return (exit code, output, {host: recap counters})."""
    cmd = [bin_path("ansible-playbook"), "-i", inventory, str(ROOT / playbook), *extra]
    out = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, cwd=ROOT, check=False)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    recap = {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
             for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", text, re.M)}
    return out.returncode, text, recap


def docker_exec(container, *argv):
    return subprocess.run(["docker", "exec", container, *argv], capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def molecule_inventory():
    inv = os.environ.get("SLUICE_MOLECULE_INVENTORY")
    if not inv or not pathlib.Path(inv).exists():
        pytest.skip("needs a converged Molecule scenario: run through `molecule verify` (SLUICE_MOLECULE_INVENTORY)")
    return inv

"""The `vault` scenario: OpenBao (role vault) on sluice-vault-1, its API on https://127.0.0.1:18200 with a certificate
from the scenario's internal CA. The container is also in group kafka_connect, so it has a Connect host's AppRole.
The tests run in file order; the last one restarts the service and re-converges."""
import json
import os
import pathlib
import time

import pytest
import requests

import unit_hardening
from conftest import ROOT, docker_exec, run_module, run_playbook

CONTAINER = "sluice-vault-1"
API = "https://127.0.0.1:18200/v1"
SECRETS = pathlib.Path(os.environ.get("SLUICE_SECRETS_DIR") or ROOT / ".cache" / "molecule-vault" / "secrets")
CA = str(SECRETS / "pki" / "ca.crt")
INIT_FILE = SECRETS / "vault" / "sluice-init.json"
APPROLE_FILE = SECRETS / "vault" / "approle" / f"{CONTAINER}.json"


def seeded(name):
    """A password converge.yml generated and seeded into KV."""
    return (SECRETS / name).read_text().strip()


def root_token():
    return json.loads(INIT_FILE.read_text())["root_token"]


def host_file(path):
    out = docker_exec(CONTAINER, "cat", path)
    assert out.returncode == 0, out.stderr
    return out.stdout


def approle_login():
    """Log in with the AppRole credentials the role delivered to the host (not the controller's copy)."""
    body = {"role_id": host_file("/etc/sluice/vault/role_id"), "secret_id": host_file("/etc/sluice/vault/secret_id")}
    answer = requests.post(f"{API}/auth/approle/login", json=body, verify=CA, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["auth"]


def get(path, token=None):
    headers = {"X-Vault-Token": token} if token else {}
    return requests.get(f"{API}/{path}", headers=headers, verify=CA, timeout=10)


def seal_status():
    answer = get("sys/seal-status")
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module", autouse=True)
def converged(molecule_inventory):
    return molecule_inventory


def test_tls_is_verified_against_the_internal_ca_and_plain_http_is_refused():
    assert get("sys/health").status_code == 200
    with pytest.raises(requests.exceptions.SSLError):   # not trusted without the internal CA
        requests.get(f"{API}/sys/health", timeout=10)
    try:
        plain = requests.get("http://127.0.0.1:18200/v1/sys/seal-status", timeout=10)
    except requests.exceptions.ConnectionError:
        return
    assert plain.status_code == 400 and "HTTPS" in plain.text, plain.text   # Go's answer to HTTP on a TLS port


def test_the_server_is_initialized_and_unsealed_after_converge():
    status = seal_status()
    assert status["initialized"] and not status["sealed"], status
    assert status["type"] == "shamir" and (status["t"], status["n"]) == (3, 5)
    assert get("sys/health").json()["version"] == "2.7.2"


def test_keys_and_root_token_are_on_the_controller_only():
    assert INIT_FILE.stat().st_mode & 0o777 == 0o600
    assert INIT_FILE.parent.stat().st_mode & 0o777 == 0o700
    init = json.loads(INIT_FILE.read_text())
    assert len(init["keys_base64"]) == 5 and init["root_token"]
    needles = [init["root_token"], *init["keys_base64"], *init["keys"]]
    grep = docker_exec(CONTAINER, "grep", "-rlF", *sum((["-e", n] for n in needles), []),
                       "/etc", "/var/lib/openbao", "/var/log", "/root", "/tmp", "/var/cache/sluice")
    assert grep.returncode == 1 and grep.stdout == "", f"found on the host: {grep.stdout} {grep.stderr}"


def test_the_approle_credentials_are_on_the_host_0600():
    out = docker_exec(CONTAINER, "stat", "-c", "%a %U %n", "/etc/sluice/vault", "/etc/sluice/vault/role_id",
                      "/etc/sluice/vault/secret_id")
    assert out.stdout.split("\n")[:3] == ["700 root /etc/sluice/vault", "600 root /etc/sluice/vault/role_id",
                                          "600 root /etc/sluice/vault/secret_id"], out.stdout
    controller = json.loads(APPROLE_FILE.read_text())
    assert APPROLE_FILE.stat().st_mode & 0o777 == 0o600
    assert controller["role_id"] == host_file("/etc/sluice/vault/role_id")
    assert controller["secret_id"] == host_file("/etc/sluice/vault/secret_id")


def test_the_connect_approle_reads_connect_secrets_and_is_denied_reconcile_secrets():
    auth = approle_login()
    assert sorted(auth["token_policies"]) == ["default", "sluice-connect"]
    token = auth["client_token"]
    allowed = get("sluice/data/connect/postgres_sink", token)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["data"]["data"]["password"] == seeded("vault_connect_postgres_sink")
    denied = get("sluice/data/reconcile/postgres", token)
    assert denied.status_code == 403, denied.text
    write = requests.post(f"{API}/sluice/data/connect/postgres_sink", json={"data": {"password": "x"}},
                          headers={"X-Vault-Token": token}, verify=CA, timeout=10)
    assert write.status_code == 403, write.text   # read only


def test_the_reconcile_policy_reads_only_reconcile_secrets():
    created = requests.post(f"{API}/auth/token/create", json={"policies": ["sluice-reconcile"], "ttl": "5m"},
                            headers={"X-Vault-Token": root_token()}, verify=CA, timeout=10)
    assert created.status_code == 200, created.text
    token = created.json()["auth"]["client_token"]
    answer = get("sluice/data/reconcile/postgres", token)
    assert answer.status_code == 200 and answer.json()["data"]["data"]["password"] == seeded("vault_reconcile_postgres")
    assert get("sluice/data/connect/postgres_sink", token).status_code == 403


def test_community_hashi_vault_lookup_with_the_approle_returns_the_secret():
    creds = json.loads(APPROLE_FILE.read_text())
    expr = ("{{ lookup('community.hashi_vault.vault_kv2_get', 'connect/postgres_sink', engine_mount_point='sluice', "
            f"url='https://127.0.0.1:18200', auth_method='approle', role_id='{creds['role_id']}', "
            f"secret_id='{creds['secret_id']}', ca_cert='{CA}').secret.password }}}}")
    result = run_module("ansible.builtin.debug", {"msg": expr})
    assert result.get("msg") == seeded("vault_connect_postgres_sink"), result


def test_the_audit_log_has_entries_and_no_secret_in_clear():
    approle_login()
    get("sys/health")
    log = host_file("/var/log/openbao/audit.log")
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert len(entries) > 10
    assert {e["type"] for e in entries} >= {"request", "response"}
    paths = {e["request"]["path"] for e in entries if "request" in e}
    assert "sluice/data/connect/postgres_sink" in paths and "auth/approle/login" in paths
    assert "hmac-sha256:" in log
    creds = json.loads(APPROLE_FILE.read_text())
    init = json.loads(INIT_FILE.read_text())
    for value in (seeded("vault_connect_postgres_sink"), seeded("vault_reconcile_postgres"), creds["secret_id"],
                  init["root_token"], *init["keys_base64"]):
        assert value not in log
    mode = docker_exec(CONTAINER, "stat", "-c", "%a %U", "/var/log/openbao/audit.log").stdout.strip()
    assert mode == "600 openbao"


def test_the_unit_is_hardened_and_not_root():
    scores = unit_hardening.check([CONTAINER], [f"{CONTAINER}/openbao.service"])
    assert scores[f"{CONTAINER}/openbao.service"] <= unit_hardening.MAX_EXPOSURE


def test_a_restart_leaves_it_sealed_and_a_reconverge_unseals(molecule_inventory):
    restart = docker_exec(CONTAINER, "systemctl", "restart", "openbao")
    assert restart.returncode == 0, restart.stderr
    deadline = time.monotonic() + 60
    while True:
        try:
            status = seal_status()
            break
        except (requests.exceptions.ConnectionError, AssertionError):
            assert time.monotonic() < deadline, "OpenBao did not come back after the restart"
            time.sleep(1)
    assert status["initialized"] and status["sealed"], status
    rc, out, recap = run_playbook("molecule/vault/converge.yml", molecule_inventory)
    assert rc == 0, out[-3000:]
    assert recap[CONTAINER]["changed"] >= 1 and recap[CONTAINER]["failed"] == 0, recap
    assert "Submit the unseal keys" in out
    assert not seal_status()["sealed"]
    assert approle_login()["client_token"]

"""Role pki against this machine: ansible-playbook on localhost (connection local, the venv's Python, so
`cryptography` is there and nothing needs apt - the play sets pki_install_python_cryptography=false for that).

One module-scoped sequence of runs, each test checks one thing it left behind:
check mode on a fresh CA and host directory, a first run with a 10-day certificate, a run with the default validity
(renews: it expires within pki_cert_renew_days), a repeat (changed=0), and a run that adds clientAuth.
"""
from __future__ import annotations

import datetime
import grp
import json
import os
import pathlib
import pwd
import re
import subprocess
import sys

import pytest

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK_BIN = pathlib.Path(sys.executable).with_name("ansible-playbook")
NAME = "svc"

PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Issue the certificate
      ansible.builtin.include_role:
        name: sluice.cdc.pki
        tasks_from: certificate
    - name: Show what the role set
      ansible.builtin.debug:
        msg: "PKI_RESULT {{ {'changed': pki_certificate_changed, 'files': pki_certificate_files} | to_json }}"
"""


def run(tmp, check=False, **extra):
    variables = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "pki_ca_dir": str(tmp / "ca"),
        "pki_cert_dir": str(tmp / "host" / "tls"),
        "pki_cert_name": NAME,
        "pki_cert_owner": pwd.getpwuid(os.getuid()).pw_name,
        "pki_cert_group": grp.getgrgid(os.getgid()).gr_name,
        "pki_install_python_cryptography": False,
        "pki_metrics_dir": str(tmp / "metrics"),
        **extra,
    }
    (tmp / "vars.json").write_text(json.dumps(variables))
    (tmp / "play.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"), ANSIBLE_PIPELINING="true",
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_LOCALHOST_WARNING="false")
    cmd = [str(PLAYBOOK_BIN), "-i", "localhost,", "-e", f"@{tmp / 'vars.json'}", str(tmp / "play.yml")]
    if check:
        cmd += ["--check", "--diff"]
    proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=240)
    recap = re.search(r"^localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", proc.stdout, re.M)
    result = re.search(r"PKI_RESULT (\{.*\})\"", proc.stdout)
    return {
        "rc": proc.returncode,
        "out": proc.stdout + proc.stderr,
        "changed": int(recap.group(1)) if recap else None,
        "result": json.loads(result.group(1).replace('\\"', '"')) if result else None,
    }


def snapshot(tmp):
    tls = tmp / "host" / "tls"
    files = {p.name: p.read_bytes() for p in tls.iterdir() if p.is_file()}
    modes = {p.name: p.stat().st_mode & 0o777 for p in tls.iterdir() if p.is_file()}
    return {"files": files, "modes": modes}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pki")
    out = {"tmp": tmp}
    def step(name, **kwargs):
        out[name] = run(tmp, **kwargs)
        assert out[name]["rc"] == 0, f"{name} run failed:\n{out[name]['out'][-4000:]}"

    step("check", check=True)
    out["check_written"] = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.name not in ("vars.json", "play.yml"))
    step("short", pki_cert_validity_days=10)
    out["short_files"] = snapshot(tmp)
    step("renew")
    out["renew_files"] = snapshot(tmp)
    out["renew_metric"] = (tmp / "metrics" / f"sluice_tls_{NAME}.prom").read_text()
    step("again")
    step("client", pki_cert_client_auth=True)
    out["client_files"] = snapshot(tmp)
    return out


def certs(data):
    return x509.load_pem_x509_certificates(data)


def eku(cert):
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_check_mode_on_a_fresh_directory_writes_nothing(runs):
    assert runs["check_written"] == []
    assert runs["check"]["changed"] > 0
    assert runs["check"]["result"]["changed"] is True


def test_the_ca_is_a_ca_with_a_private_key_only_its_owner_reads(runs):
    ca_dir = runs["tmp"] / "ca"
    assert (ca_dir / "ca.key").stat().st_mode & 0o777 == 0o600
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and not ku.value.digital_signature
    assert ca.subject.rfc4514_string() == "CN=Sluice internal CA"
    assert ca.issuer == ca.subject
    ca.verify_directly_issued_by(ca)
    days = (ca.not_valid_after_utc - ca.not_valid_before_utc).days
    assert 3649 <= days <= 3651
    key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key.public_key() == ca.public_key()


def test_the_host_gets_a_leaf_signed_by_the_ca_with_its_sans_and_server_auth(runs):
    files = runs["short_files"]["files"]
    ca = x509.load_pem_x509_certificate((runs["tmp"] / "ca" / "ca.crt").read_bytes())
    leaf, chain_ca = certs(files[f"{NAME}.crt"])
    assert chain_ca == ca and certs(files["ca.crt"]) == [ca]
    leaf.verify_directly_issued_by(ca)
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]  # inventory_hostname localhost, deduplicated
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert eku(leaf) == {ExtendedKeyUsageOID.SERVER_AUTH}
    key = serialization.load_pem_private_key(files[f"{NAME}.key"], None)
    assert key.public_key() == leaf.public_key()
    assert files[f"{NAME}.key"].startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8


def test_the_pem_holds_the_pkcs8_key_then_leaf_then_ca(runs):
    files = runs["short_files"]["files"]
    pem = files[f"{NAME}.pem"]
    assert pem.startswith(files[f"{NAME}.key"])
    assert pem.count(b"-----BEGIN PRIVATE KEY-----") == 1 and b"EC PRIVATE KEY" not in pem
    assert certs(pem) == certs(files[f"{NAME}.crt"])
    assert serialization.load_pem_private_key(pem, None).public_key() == certs(pem)[0].public_key()


def test_file_modes_and_the_facts_for_the_caller(runs):
    key_mode = 0o640 if os.getuid() == 0 else 0o600  # group access only with a root-owned key (PostgreSQL's rule)
    modes = runs["short_files"]["modes"]
    assert modes == {f"{NAME}.key": key_mode, f"{NAME}.pem": key_mode, f"{NAME}.crt": 0o644, "ca.crt": 0o644}
    tls = runs["tmp"] / "host" / "tls"
    assert runs["short"]["result"] == {"changed": True, "files": {
        "key": f"{tls}/{NAME}.key", "cert": f"{tls}/{NAME}.crt", "ca": f"{tls}/ca.crt", "pem": f"{tls}/{NAME}.pem"}}


def test_a_certificate_expiring_within_renew_days_is_renewed_with_the_same_key(runs):
    before, after = runs["short_files"]["files"], runs["renew_files"]["files"]
    old, new = certs(before[f"{NAME}.crt"])[0], certs(after[f"{NAME}.crt"])[0]
    assert (old.not_valid_after_utc - old.not_valid_before_utc) < datetime.timedelta(days=11)
    assert old.serial_number != new.serial_number
    assert datetime.timedelta(days=364) < new.not_valid_after_utc - new.not_valid_before_utc < datetime.timedelta(days=366)
    assert after[f"{NAME}.key"] == before[f"{NAME}.key"]
    assert after[f"{NAME}.pem"].startswith(before[f"{NAME}.key"]) and certs(after[f"{NAME}.pem"])[0] == new
    assert runs["renew"]["result"]["changed"] is True


def test_the_expiry_is_a_metric_for_the_textfile_collector(runs):
    leaf = certs(runs["renew_files"]["files"][f"{NAME}.crt"])[0]
    sample = [line for line in runs["renew_metric"].splitlines() if not line.startswith("#")]
    tls = runs["tmp"] / "host" / "tls"
    assert sample == [f'sluice_tls_certificate_not_after_timestamp_seconds{{certificate="{NAME}",path="{tls}/{NAME}.crt"}} '
                      f'{int(leaf.not_valid_after_utc.timestamp())}']
    assert "# TYPE sluice_tls_certificate_not_after_timestamp_seconds gauge" in runs["renew_metric"]


def test_a_second_run_changes_nothing(runs):
    assert runs["again"]["changed"] == 0, runs["again"]["out"][-3000:]
    assert runs["again"]["result"]["changed"] is False


def test_client_auth_reissues_with_both_usages_and_the_same_key(runs):
    leaf = certs(runs["client_files"]["files"][f"{NAME}.crt"])[0]
    assert eku(leaf) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert runs["client_files"]["files"][f"{NAME}.key"] == runs["renew_files"]["files"][f"{NAME}.key"]
    assert runs["client"]["result"]["changed"] is True


def test_a_provided_ca_that_is_missing_fails_clearly(tmp_path):
    (tmp_path / "ca").mkdir()
    res = run(tmp_path, pki_ca_provided=True)
    assert res["rc"] != 0
    assert "pki_ca_provided is true" in res["out"]
    assert list((tmp_path / "ca").iterdir()) == []

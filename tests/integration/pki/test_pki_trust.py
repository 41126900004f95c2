"""Role pki, entry point `trust`, against this machine (ansible-playbook on localhost, connection local): the CA's
certificate written where a host's clients verify servers, check mode writing nothing, a repeat changing nothing."""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Trust the CA
      ansible.builtin.include_role:
        name: sluice.cdc.pki
        tasks_from: trust
    - name: Show what the role set
      ansible.builtin.debug:
        msg: "TRUST_CHANGED={{ pki_trust_changed }}"
"""


def run(tmp, *extra):
    (tmp / "vars.json").write_text(json.dumps({
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "pki_ca_dir": str(tmp / "ca"), "pki_trust_file": str(tmp / "host" / "ssl" / "ca.crt")}))
    (tmp / "play.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false")
    proc = subprocess.run([str(pathlib.Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-e", f"@{tmp / 'vars.json'}",
                           str(tmp / "play.yml"), *extra],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    changed = int(re.search(r"^localhost\s+: ok=\d+\s+changed=(\d+)", proc.stdout, re.M).group(1))
    return changed, "TRUST_CHANGED=True" in proc.stdout


def test_trust_writes_the_ca_certificate_once(tmp_path):
    trusted = tmp_path / "host" / "ssl" / "ca.crt"
    changed, reported = run(tmp_path, "--check")
    assert changed > 0 and reported and not trusted.exists() and not (tmp_path / "ca").exists()

    changed, reported = run(tmp_path)
    assert changed > 0 and reported
    assert trusted.read_text().strip() == (tmp_path / "ca" / "ca.crt").read_text().strip()
    assert trusted.stat().st_mode & 0o777 == 0o644 and trusted.parent.stat().st_mode & 0o777 == 0o755
    assert not (trusted.parent / "ca.key").exists()

    assert run(tmp_path) == (0, False)

"""The sqlserver_source role against a SQL Server that is not there (none can run on these machines): check mode
fails at once with a clear connection error, shows no password, and changes nothing."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
PASSWORD = "Never-Printed-7431"

PLAYBOOK = f"""
- name: Prepare an unreachable SQL Server
  hosts: localhost
  gather_facts: false
  roles:
    - role: sluice.cdc.sqlserver_source
      vars:
        sqlserver_source_host: sqlserver.invalid
        sqlserver_source_admin_password: {PASSWORD}
        sqlserver_source_debezium_password: {PASSWORD}-debezium
        sqlserver_source_odbc_driver: FreeTDS
        sqlserver_source_timeout: 5
"""


def test_check_mode_fails_with_a_connection_error_and_changes_nothing(tmp_path):
    playbook = tmp_path / "prepare.yml"
    playbook.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    env.pop("ANSIBLE_FORCE_COLOR", None)
    out = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "/dev/null",
                          str(playbook), "--check", "--diff"], env=env, capture_output=True, text=True, cwd=ROOT,
                         timeout=300, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 2, text[-3000:]
    assert "cannot connect to SQL Server sqlserver.invalid:1433" in text, text[-3000:]
    assert PASSWORD not in text
    recap = re.search(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", text, re.M)
    assert recap and recap.group(2) == "0" and recap.group(3) == "1", text[-2000:]

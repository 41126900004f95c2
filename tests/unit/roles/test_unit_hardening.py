"""Every systemd unit a Sluice role writes carries the one hardening block (filter sluice.cdc.systemd_hardening) and
runs as a named non-root user; the block itself, rendered. The scores are measured in the scenarios
(tests/e2e/unit_hardening.py)."""
import pathlib
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sluice.cdc.plugins.filter.systemd import FilterModule, systemd_hardening

ROOT = pathlib.Path(__file__).resolve().parents[3]
UNITS = sorted(ROOT.glob("roles/*/templates/*.service.j2"))


def settings(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_every_role_unit_is_found():
    assert {p.name for p in UNITS} >= {"kafka.service.j2", "kafka-connect.service.j2", "sluice-supervisor.service.j2",
                                        "sluice-reconcile.service.j2"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_uses_the_shared_hardening_and_a_service_user(unit):
    text = unit.read_text()
    assert len(re.findall(r"\|\s*sluice\.cdc\.systemd_hardening\b", text)) == 1, "the shared block, once"
    # No hand-written copy of what the block sets beside it.
    assert not re.search(r"^(NoNewPrivileges|ProtectSystem|SystemCallFilter|CapabilityBoundingSet)=", text, re.M)
    user = settings(text).get("User", "")
    assert user.startswith("{{") and "root" not in user, "a named service user, never root"


def test_block_for_a_native_service():
    lines = settings(systemd_hardening(["/var/lib/x", "/var/log/x"], umask="0077"))
    assert lines["ReadWritePaths"] == "/var/lib/x /var/log/x"
    assert lines["MemoryDenyWriteExecute"] == "yes" and lines["UMask"] == "0077"
    assert lines["RestrictAddressFamilies"] == "AF_INET AF_INET6 AF_UNIX"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "CapabilityBoundingSet": "",
                       "SystemCallFilter": "@system-service", "SystemCallErrorNumber": "EPERM",
                       "PrivateTmp": "yes", "ProtectHome": "yes", "RestrictNamespaces": "yes"}.items():
        assert lines[key] == value, key


def test_block_for_a_jvm_allows_the_jit_and_netlink():
    lines = settings(systemd_hardening("/var/lib/kafka", java=True))
    assert "MemoryDenyWriteExecute" not in lines
    assert lines["RestrictAddressFamilies"].split() == ["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"]
    assert lines["ReadWritePaths"] == "/var/lib/kafka" and lines["UMask"] == "0027"


def test_no_writable_path_means_no_read_write_paths_line():
    assert "ReadWritePaths" not in settings(systemd_hardening([]))


@pytest.mark.parametrize("bad", ["relative/dir", "/with space"])
def test_bad_writable_path_is_refused(bad):
    with pytest.raises(AnsibleFilterError, match="must be absolute"):
        systemd_hardening([bad])


def test_filter_is_exported():
    assert FilterModule().filters()["systemd_hardening"] is systemd_hardening

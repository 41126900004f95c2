"""No role races its package's auto-start: every service Sluice installs from a Debian package is first started after
the role has written its configuration (a postinst start with the distribution's defaults would come before it)."""
import pytest

from conftest import docker_exec

# (container, unit, a file the role writes before it starts the unit)
SERVICES = [
    ("sluice-mon-pg", "postgresql@15-main", "/etc/postgresql/15/main/conf.d/sluice.conf"),
    ("sluice-mon-pg", "prometheus-postgres-exporter", "/etc/default/prometheus-postgres-exporter"),
    ("sluice-mon-pg", "prometheus-node-exporter", "/etc/default/prometheus-node-exporter"),
    ("sluice-mon-kafka", "prometheus-node-exporter", "/etc/default/prometheus-node-exporter"),
    ("sluice-mon-prom", "prometheus", "/etc/default/prometheus"),
    ("sluice-mon-prom", "prometheus-alertmanager", "/etc/default/prometheus-alertmanager"),
]


def _first_start(container, unit):
    out = docker_exec(container, "journalctl", "--no-pager", "-o", "short-unix", "-u", unit)
    assert out.returncode == 0, out.stderr
    starts = [float(line.split()[0]) for line in out.stdout.splitlines() if "Started" in line or "Starting" in line]
    assert starts, f"{unit} on {container} was never started:\n{out.stdout[-2000:]}"
    return min(starts), out.stdout


@pytest.mark.parametrize("container, unit, config", SERVICES, ids=[f"{c}:{u}" for c, u, _ in SERVICES])
def test_service_first_starts_after_its_configuration_and_never_failed(container, unit, config):
    first, journal = _first_start(container, unit)
    written = docker_exec(container, "stat", "-c", "%Y", config)
    assert written.returncode == 0, written.stderr
    assert first >= int(written.stdout), (
        f"{unit} on {container} started at {first:.0f}, before the role wrote {config} at {written.stdout.strip()}")
    assert "Failed with result" not in journal and "Start request repeated too quickly" not in journal, journal[-2000:]
    state = docker_exec(container, "systemctl", "is-active", unit)
    assert state.stdout.strip() == "active"

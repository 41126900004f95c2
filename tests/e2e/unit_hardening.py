"""Shared by the suites: every systemd unit a Sluice role wrote on a scenario's containers (the files under
/etc/systemd/system that Ansible manages) scores at most MAX_EXPOSURE in `systemd-analyze security`, and its
running process, if any, is not root."""
import re

from conftest import docker_exec

MAX_EXPOSURE = 4.5


def sluice_units(container):
    out = docker_exec(container, "sh", "-c", "grep -l 'Ansible managed' /etc/systemd/system/*.service || true")
    assert out.returncode == 0, out.stderr
    return sorted(line.rsplit("/", 1)[1] for line in out.stdout.split())


def exposure(container, unit):
    out = docker_exec(container, "systemd-analyze", "security", "--no-pager", unit)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out.stdout)
    assert match, f"{container} {unit}: no score in {out.stdout[-300:]!r} {out.stderr[-300:]!r}"
    return float(match.group(1))


def process_user(container, unit):
    pid = docker_exec(container, "systemctl", "show", "-p", "MainPID", "--value", unit).stdout.strip()
    if pid in ("", "0"):
        return None   # not running now (a timer's oneshot service)
    return docker_exec(container, "ps", "-o", "user=", "-p", pid).stdout.strip()


def check(containers, expected_units):
    """Score every Sluice unit on the containers; `expected_units` must be among them (the test would otherwise
    pass over a unit it never found). Returns {container/unit: score} for the report."""
    scores, problems = {}, []
    for container in containers:
        for unit in sluice_units(container):
            score = scores[f"{container}/{unit}"] = exposure(container, unit)
            user = docker_exec(container, "systemctl", "show", "-p", "User", "--value", unit).stdout.strip()
            running_as = process_user(container, unit)
            if score > MAX_EXPOSURE:
                problems.append(f"{container} {unit}: exposure {score} > {MAX_EXPOSURE}")
            if user in ("", "root") or running_as == "root":
                problems.append(f"{container} {unit}: runs as {running_as or user or 'root'}")
    missing = set(expected_units) - set(scores)
    assert not missing, f"units not found: {sorted(missing)}"
    assert not problems, problems
    print("\nsystemd-analyze security: " + ", ".join(f"{k} {v}" for k, v in sorted(scores.items())))
    return scores

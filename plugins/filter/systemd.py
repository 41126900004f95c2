"""The [Service] hardening every Sluice unit carries, written once: ``{{ paths | sluice.cdc.systemd_hardening }}``."""
from ansible.errors import AnsibleFilterError

# Each line removes something the services never need; together they score about 2 in `systemd-analyze security`.
_COMMON = (
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "RemoveIPC=yes",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    # A call outside the set fails with EPERM instead of killing the process: a JVM probing an optional call
    # (it does, at start) keeps running.
    "SystemCallErrorNumber=EPERM",
)
# Java compiles code at run time, which needs writable-and-executable memory; the JDK lists network interfaces
# over netlink.
_JAVA = ("RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",)
_NATIVE = ("MemoryDenyWriteExecute=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX")


def systemd_hardening(writable_paths, java=False, umask="0027"):
    """The hardening lines of a [Service] section; `writable_paths` are the only places the service may write."""
    if isinstance(writable_paths, str):
        writable_paths = [writable_paths]
    paths = [str(p) for p in writable_paths or []]
    for p in paths:
        if not p.startswith("/") or any(c.isspace() for c in p):
            raise AnsibleFilterError(f"systemd_hardening: writable path {p!r} must be absolute, without spaces")
    lines = list(_COMMON) + list(_JAVA if java else _NATIVE) + [f"UMask={umask}"]
    if paths:
        lines.append("ReadWritePaths=" + " ".join(paths))
    return "\n".join(lines)


class FilterModule:
    def filters(self):
        return {"systemd_hardening": systemd_hardening}

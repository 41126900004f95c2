"""Filters that read the Kafka cluster layout from the inventory, shared by roles and playbooks."""

DEFAULT_ROLES = ("broker", "controller")


def kafka_brokers(hostnames, hostvars, port=None):
    """Hosts of a Kafka group whose `kafka_node_roles` (default: broker and controller) include `broker`.

    With `port`, return `host:port` strings, the form of a bootstrap server list.
    """
    brokers = [h for h in hostnames if "broker" in (hostvars[h].get("kafka_node_roles") or DEFAULT_ROLES)]
    return [f"{h}:{port}" for h in brokers] if port else brokers


# Characters the format tool's `--add-scram 'MECHANISM=[name=...,password=...]'` syntax cannot carry in a value.
SCRAM_FORBIDDEN = set(',=[]"\'\n\r')


def kafka_scram_arguments(users, mechanism):
    """`kafka-storage format` arguments that create SCRAM `users` ({name, password}) with `mechanism`.

    A value the tool would misparse is an error naming the user (never the password), not a silently different user.
    """
    from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel

    args = []
    for user in users:
        name, password = str(user.get("name") or ""), str(user.get("password") or "")
        if not name or not password:
            raise AnsibleFilterError(f"SCRAM user {name or '(unnamed)'!r} needs a name and a non-empty password")
        if SCRAM_FORBIDDEN & set(name + password):
            raise AnsibleFilterError(f"SCRAM user {name!r}: names and passwords may not contain , = [ ] or quotes")
        args += ["--add-scram", f"{mechanism}=[name={name},password={password}]"]
    return args


class FilterModule:
    def filters(self):
        return {"kafka_brokers": kafka_brokers, "kafka_scram_arguments": kafka_scram_arguments}

"""Filters that read the Kafka cluster layout from the inventory, shared by roles and playbooks."""

DEFAULT_ROLES = ("broker", "controller")


def kafka_brokers(hostnames, hostvars, port=None):
    """Hosts of a Kafka group whose `kafka_node_roles` (default: broker and controller) include `broker`.

    With `port`, return `host:port` strings, the form of a bootstrap server list.
    """
    brokers = [h for h in hostnames if "broker" in (hostvars[h].get("kafka_node_roles") or DEFAULT_ROLES)]
    return [f"{h}:{port}" for h in brokers] if port else brokers


class FilterModule:
    def filters(self):
        return {"kafka_brokers": kafka_brokers}

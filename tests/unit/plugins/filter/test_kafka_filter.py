from ansible_collections.sluice.cdc.plugins.filter.kafka import FilterModule, kafka_brokers

HOSTVARS = {
    "c1": {"kafka_node_roles": ["controller"]},
    "b1": {"kafka_node_roles": ["broker"]},
    "k1": {},
    "k2": {"kafka_node_roles": ["broker", "controller"]},
}


def test_brokers_are_hosts_whose_roles_include_broker_defaulting_to_combined():
    assert kafka_brokers(["c1", "b1", "k1", "k2"], HOSTVARS) == ["b1", "k1", "k2"]


def test_with_port_returns_bootstrap_entries():
    assert kafka_brokers(["c1", "b1"], HOSTVARS, 9092) == ["b1:9092"]
    assert FilterModule().filters()["kafka_brokers"] is kafka_brokers

"""The Sluice admin's Kafka login in a Molecule scenario or the demo, read from its secrets directory.

One place for the librdkafka settings every host-side client uses (e2e tests, scripts/demo-workload, bench/):
SASL_SSL with SCRAM-SHA-512 as the inventories' admin user, brokers verified against the scenario's internal CA
(role pki keeps it in <secrets dir>/pki/ca.crt).
"""
import pathlib

ADMIN_USER = "admin"   # role kafka's kafka_admin_username


def kafka_admin_settings(secrets_dir):
    """librdkafka security settings (no bootstrap.servers) of the admin login for the secrets in ``secrets_dir``."""
    secrets_dir = pathlib.Path(secrets_dir)
    return {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": ADMIN_USER,
            "sasl.password": (secrets_dir / "kafka_admin_password").read_text().strip(),
            "ssl.ca.location": str(secrets_dir / "pki" / "ca.crt")}

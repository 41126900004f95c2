"""The pipeline's own units, hardened and not root (tests/e2e/unit_hardening.py)."""
import unit_hardening


def test_every_sluice_unit_is_hardened_and_not_root():
    unit_hardening.check(["sluice-kafka", "sluice-connect", "sluice-pg"],
                         ["sluice-kafka/kafka.service", "sluice-connect/kafka-connect.service",
                          "sluice-connect/sluice-supervisor.service"])

"""Every Sluice unit of the monitoring scenario, the reconciliation timer's included, hardened and not root
(tests/e2e/unit_hardening.py)."""
import unit_hardening


def test_every_sluice_unit_is_hardened_and_not_root():
    unit_hardening.check(["sluice-mon-kafka", "sluice-mon-connect", "sluice-mon-pg", "sluice-mon-prom"],
                         ["sluice-mon-kafka/kafka.service", "sluice-mon-connect/kafka-connect.service",
                          "sluice-mon-connect/sluice-supervisor.service", "sluice-mon-connect/sluice-reconcile.service"])

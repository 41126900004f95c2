"""Test support code: ``cdcgen`` writes Debezium SQL Server change events into Kafka (see cdcgen/__init__.py)."""

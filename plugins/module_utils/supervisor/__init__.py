# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""sluice-supervisor: watches Kafka Connect connectors and tasks and heals them (docs/supervisor.md).

classify (trace -> cause), backoff (restart delays), config (the one schema and validation), dlq (DLQ records:
headers, list/show/replay), quarantine (find the exact rejected record with a probe connector, copy it, move the
offset), metrics (Prometheus exposition), leader (one active per Connect cluster), loop (the runner).
"""

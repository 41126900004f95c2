# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Source-vs-target reconciliation (SQL Server -> PostgreSQL, or PostgreSQL -> PostgreSQL).

normalize.py: canonical value encoding (the reference); typemap.py: which column pairs compare and how;
dialects.py: every SQL statement per engine; engine.py: bucketing, drill-down, re-check and the report.
"""

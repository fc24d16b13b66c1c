"""Backends at the edge: DuckDB (the workspace, default) and PySpark (data that outgrows one machine).

Metric code never imports either; it receives Ibis tables (kefu.metrics.kpis.Sources).
"""

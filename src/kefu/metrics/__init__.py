"""The KPI engine: dialogue model, order credit, consultations, KPI tables (Ibis)."""

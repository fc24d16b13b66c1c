"""Reports built from KPI records: the daily report (日报) and its XLSX."""

"""kefu's web app: dashboards, drill-down, daily report, targets and role-based access.

`create_app(workspace_path)` builds the FastAPI application (kefu.web.app).
"""

"""Dashboard, charts, daily report, exports and the audit trail."""

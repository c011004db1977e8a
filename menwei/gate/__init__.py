"""The gate: control rules, gate checks, the desk, its search, and passes."""

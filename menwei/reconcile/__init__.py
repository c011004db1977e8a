"""Reconciliation at the hub: outages, late arrivals, violations no single gate could see, merges."""

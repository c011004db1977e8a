"""Duty rosters: coverage, filling a week, check-in and handovers."""

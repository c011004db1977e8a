"""Menwei (门卫): offline-first gate, delivery and roster software for a compound under lockdown."""

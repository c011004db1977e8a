"""The coordinator's management page and the property office's register import."""

"""The demo compound and `menwei demo`."""

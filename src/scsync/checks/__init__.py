"""Checks on loaded manifests: the schema, one connector's settings, the set as a whole."""

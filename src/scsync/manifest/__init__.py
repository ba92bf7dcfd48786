"""Reading manifests: strict YAML with positions, and the typed connector model."""

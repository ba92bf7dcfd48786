"""The bundled JSON Schema (identical to schemas/ at the repository root)."""

"""The controller: manifests (desired) against the executor (live): plan, apply, reconcile."""

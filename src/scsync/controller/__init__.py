"""The controller: desired state from manifests, live state from the executor, plan, apply, and the reconcile loop."""

"""Example workflows registered by the manifests in this tree."""

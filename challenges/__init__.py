"""Challenge bundles: the `challenge.yaml` format, its loader and validator, and the example challenges."""

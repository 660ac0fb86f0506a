"""The params schema and loader (the only reader of params.yaml) and the ablation grids."""

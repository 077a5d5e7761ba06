"""Model layer: the executor, its validation, and SkyPilot config/YAML (never imports sky eagerly)."""

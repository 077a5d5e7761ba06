"""Engine layer: jobs, the durable registry, the monitor and the backends (no ipywidgets/IPython)."""

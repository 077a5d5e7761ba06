"""Views layer: ipywidgets over the model and the engine; no launch logic here."""

"""Trained models built from ``app.core``: the digits classifier (``app.models.digits``)."""

"""Measurements of why phase collapse works (poster panels; spec F.3, F.4)."""

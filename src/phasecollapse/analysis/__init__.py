"""Measurements of why phase collapse works (poster panels; docs/faithfulness.md, *Analyses*)."""

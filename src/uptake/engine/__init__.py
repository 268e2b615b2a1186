"""Metric definitions as Ibis expressions over the warehouse tables: one definition, any backend."""

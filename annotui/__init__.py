"""annotui: a terminal cockpit for guided, audited deployments (headless core)."""

__version__ = "0.1.0"

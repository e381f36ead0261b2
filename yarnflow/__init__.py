"""Pieces every yarnflow daemon and client shares: auth, resource sizes, RPC plumbing, config."""

__version__ = "0.1.0"

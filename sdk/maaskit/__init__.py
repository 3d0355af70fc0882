"""maaskit: a typed client for language Model-as-a-Service APIs."""

__version__ = "0.1.0"

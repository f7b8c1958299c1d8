"""An AWS-compatible private cloud: a re-implementation of Eucalyptus 3.x."""

__version__ = "0.1.0"

"""The Euare (IAM) Query API at /services/Euare."""

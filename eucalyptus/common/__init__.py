"""Code shared by every component. Imports nothing from the daemons."""

"""A small reference client of the Refurb Portal API (``python -m refurb_client --help``)."""

"""Date and time formats per language (``FORMAT_MODULE_PATH``): what Django does not set here
falls back to its own formats for the language."""

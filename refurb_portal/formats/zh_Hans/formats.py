"""Chinese dates as Django writes them (2026年11月29日 21:49), with the offset of the user's
zone after every time, so that a time is never read in the wrong zone."""

DATETIME_FORMAT = r"Y年n月j日 H:i \U\T\CO"
SHORT_DATETIME_FORMAT = r"Y年n月j日 H:i \U\T\CO"
TIME_FORMAT = r"H:i \U\T\CO"

"""English dates that no reader can misread: year first with the month as a word or a number
that cannot be a day, and every time with the offset of its zone (the user's zone, activated by
``accounts.time_zones.TimeZoneMiddleware``).

    2026-11-29 21:49 UTC+0800    (DATETIME_FORMAT, SHORT_DATETIME_FORMAT)
    29 Nov 2026                  (DATE_FORMAT, SHORT_DATE_FORMAT)
"""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = r"Y-m-d H:i \U\T\CO"
SHORT_DATETIME_FORMAT = r"Y-m-d H:i \U\T\CO"
TIME_FORMAT = r"H:i \U\T\CO"

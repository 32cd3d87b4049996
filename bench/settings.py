"""The benchmarks' settings: production's, plus the bench-only URLs (a bare view) and a static
root of their own. Never used to serve the product."""

from __future__ import annotations

import os
from pathlib import Path

from refurb_portal.settings.prod import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
# ManifestStaticFilesStorage needs collectstatic; the bench collects into its own folder.
STATIC_ROOT = Path(os.environ.get("BENCH_STATIC_ROOT", BASE_DIR / "var" / "bench-static"))  # noqa: F405

"""Headless Chromium for the fleet page's test and bench: the system's browser, never a download.

Selenium drives ``/usr/bin/chromium`` through ``/usr/bin/chromedriver`` (Debian
packages ``chromium`` and ``chromium-driver``), both named explicitly so that
nothing is fetched. :func:`chromium` raises a clear error when they are missing.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["CHROMEDRIVER", "CHROMIUM", "FLAGS", "chromium"]

CHROMIUM = os.environ.get("POS_CLIENT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("POS_CLIENT_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def chromium(width: int = 1400, height: int = 900) -> Any:
    """A Selenium WebDriver of headless Chromium; ``quit()`` it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise RuntimeError(
                f"{path} is missing: install the Debian packages chromium and chromium-driver"
            )
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)

"""Screenshots of the leader's and supervisor's screens on the demo district, for the README.

The journey screenshots come from the browser test (tests/e2e); the screens that need a year of
appeals to say anything (dashboard, wall, hotspots, assessment, warnings, model status) are taken
here, against a server running the demo (`make run`, or `sudi serve` on a `sudi demo-data` database):

    .venv/bin/python scripts/demo_screenshots.py --base http://127.0.0.1:8000

Needs Debian's chromium (scripts/ensure-chromium.sh). Writes docs/screenshots/*.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
DESKTOP = {"viewport": {"width": 1440, "height": 900}, "locale": "zh-CN", "device_scale_factor": 1}
WALL = {"viewport": {"width": 1920, "height": 1080}, "locale": "zh-CN", "device_scale_factor": 1}

# (file name, user, path, element that must be drawn before the picture is taken, viewport)
SCREENS = [
    ("staff-dashboard", "leader", "/staff/dashboard", "main", DESKTOP),
    ("staff-wall", "leader", "/staff/wall", "main", WALL),
    ("staff-hotspots", "leader", "/staff/hotspots", "table", DESKTOP),
    ("staff-assessment", "supervisor", "/staff/assessment", "main", DESKTOP),
    ("staff-warnings", "supervisor", "/staff/warnings", "main", DESKTOP),
    ("staff-admin-models", "admin", "/staff/admin/models", "main", DESKTOP),
    ("staff-dispatch-queue", "dispatcher", "/staff/appeals?queue=dispatch", "table", DESKTOP),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--password", default="sudi-demo")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
        try:
            for name, user, path, ready, viewport in SCREENS:
                context = browser.new_context(**viewport)  # type: ignore[arg-type]
                page = context.new_page()
                page.goto(args.base + "/login")
                page.fill("#f-username", user)
                page.fill("#f-password", args.password)
                page.click("button[type=submit]")
                page.wait_for_url("**/staff**")
                page.goto(args.base + path)
                page.wait_for_selector(ready, state="attached", timeout=20_000)
                page.wait_for_timeout(2_500)  # charts animate in
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=viewport is DESKTOP)
                print(f"{name}.png ← {user} {path}")
                context.close()
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

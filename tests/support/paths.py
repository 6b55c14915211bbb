"""Where things are: the checkout, its version, the launcher."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text().strip()
LAUNCHER = ROOT / "scripts" / "dlab"

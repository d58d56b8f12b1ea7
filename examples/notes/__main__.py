"""`python -m examples.notes ...` (run from the repository root)."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())

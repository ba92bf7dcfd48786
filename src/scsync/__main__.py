from __future__ import annotations

from scsync.cli import main

raise SystemExit(main())

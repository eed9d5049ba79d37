from __future__ import annotations

from reporter.main import main

raise SystemExit(main())

from __future__ import annotations

from dalil.cli import main

main()

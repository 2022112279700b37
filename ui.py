"""Launcher for the web chat: `python ui.py` (the same as `assistant serve`)."""

import sys

from assistant.web.app import main

if __name__ == "__main__":
    sys.exit(main())

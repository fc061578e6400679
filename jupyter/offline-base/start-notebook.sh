#!/bin/bash
# The old name of start-notebook.py, kept for commands that still use it.
echo "WARNING: Use start-notebook.py instead"
exec /usr/local/bin/start-notebook.py "$@"

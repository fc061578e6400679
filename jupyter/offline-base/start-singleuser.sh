#!/bin/bash
# The old name of start-singleuser.py, kept for commands that still use it.
echo "WARNING: Use start-singleuser.py instead"
exec /usr/local/bin/start-singleuser.py "$@"

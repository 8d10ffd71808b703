"""`python -m tenant_integrity <command>`: the command line (tenant_integrity.cli.main)."""

import sys

from tenant_integrity.cli.main import main

if __name__ == "__main__":
    sys.exit(main())

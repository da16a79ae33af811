"""``python -m nsad``: the command line (same as the ``nsad`` console script). A Ctrl-C even while
the command line is being imported ends with ``nsad: interrupted`` and exit code 130."""

import sys

if __name__ == "__main__":
    try:
        from nsad.experiments.cli import main
    except KeyboardInterrupt:
        print("nsad: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())

"""``python -m nsad``: the command line (same as the ``nsad`` console script). A Ctrl-C even while
the command line is being imported ends with ``nsad: interrupted`` and exit code 130."""

import sys

if __name__ == "__main__":
    try:
        from nsad.experiments.cli import main
    except KeyboardInterrupt:
        from nsad.interrupt import ignore_further_interrupts, stopped

        ignore_further_interrupts()
        sys.exit(stopped())
    sys.exit(main())

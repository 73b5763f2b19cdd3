"""`python -m trainer …` (also what torchrun runs with `-m trainer`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())

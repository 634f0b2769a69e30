"""``python -m pipelines.train ...`` = ``speechcurate train ...`` (what torchrun starts)."""

import sys

from pipelines.train.cli import main

if __name__ == "__main__":
    sys.exit(main())

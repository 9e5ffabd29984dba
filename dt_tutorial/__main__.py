import sys

from dt_tutorial.cli import main

sys.exit(main())

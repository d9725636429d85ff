import gc
import sys

from .run import main

code = main()
# Everything is written: skip the interpreter's last full collection over torch's and timm's objects
# (about 1 s of a short run's wall time; the loaders' workers have already been shut down).
gc.freeze()
sys.exit(code)

"""Time-to-99% and break-even table from a scan folder (printed as Markdown).

    python timing_table.py SCAN PRETRAINED_ROOT EVENTS_PER_S|auto

``PRETRAINED_ROOT/SETUP`` holds each pretrained setup's run (its ``history.csv`` gives the
pretraining's wall time). The table and its conventions (epochs as the unit of cost, the rate
``auto`` takes from the scan): :func:`eventgnn.analysis.timing.scan_timing_table`.
"""

import sys

from eventgnn.analysis.timing import scan_timing_table

rate = sys.argv[3] if sys.argv[3] == "auto" else float(sys.argv[3])
print(scan_timing_table(sys.argv[1], sys.argv[2], rate))

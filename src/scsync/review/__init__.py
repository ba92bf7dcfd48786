"""Pull-request review: what merging one git revision onto another changes, and how risky it is.

`engine` reads the two revisions through `scsync.gitsource`, `pairing` decides
which base connector became which head connector, `scsync.diff` lists what
changed, and `policy` turns each change into a located finding.
"""

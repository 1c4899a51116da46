"""Build tools of the kit, not steps of a run: rendering the printable templates and generating the samples."""

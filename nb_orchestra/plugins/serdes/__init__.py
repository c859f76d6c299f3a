"""io.kestra.plugin.serdes.*: conversions between Kestra's Ion files and CSV, JSON, Parquet, Avro,
Excel and YAML, one module per format.

Every conversion streams: rows are read and written one at a time (Parquet in record batches),
so a file of any size converts in bounded memory. Libraries do the formats: ``amazon.ion``
(shared with jdbc through ``plugins/ion.py``), the ``csv`` and ``json`` modules, pyarrow,
fastavro, openpyxl and PyYAML; all but PyYAML are in the ``serdes`` extra, and a missing one
fails the task with a message naming it.
"""

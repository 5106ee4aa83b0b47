"""The archive (档案归档): the [archive] required documents, the scan of the archive folder, its checks and
commands."""

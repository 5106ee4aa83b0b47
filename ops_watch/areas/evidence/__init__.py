"""Evidence collection (证据采集): whether evidence keeps arriving (freshness, refused files) and whether the
collection targets answer; the report section of evidence gaps."""

"""restic: placeholder, being written (registers its VendorFormat for kind backup)."""

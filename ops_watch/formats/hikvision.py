"""hikvision: placeholder, being written (registers its VendorFormat)."""

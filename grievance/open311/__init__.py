"""Open311 GeoReport v2: any Open311 client files and tracks cases through the front desk's own intake."""

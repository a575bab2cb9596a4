"""POI sources, one module each, registered by name with `@register_poi_source` (pipelines/agent/pois.py)."""

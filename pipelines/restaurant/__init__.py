"""The restaurant task's own machinery: the sample agent-output generator over the committed POI table."""

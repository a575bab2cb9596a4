"""The trajectory task's machinery: the day grammar, the place table and district polygon, the day generator."""

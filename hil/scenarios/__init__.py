"""The shipped scenarios (YAML): town, county, national."""

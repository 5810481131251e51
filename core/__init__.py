"""The bottom layer: errors, settings, the Dataset frames, value checks, ranking, progress,
device, private files and process checks. Imports nothing else of kgrec."""

"""The names inside a catalogue folder, the built-in one and a user's own alike."""

AREAS_FILE = "areas.yaml"
TA_DIR = "technology_appraisals"
MEASURES_DIR = "measures"
PARTS = (AREAS_FILE, TA_DIR, MEASURES_DIR)

"""Reference data that cases point at: departments, stations, meetings, enterprises, categories.

They are plain records with the same create/list/get shape, so they share one folder rather than
five near-identical ones.
"""

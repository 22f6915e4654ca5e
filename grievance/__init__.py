"""grievance: case management for citizen and enterprise appeals (诉求)."""

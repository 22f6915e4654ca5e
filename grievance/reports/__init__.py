"""The rates leaders are judged by: a registry of metrics, SQL over cases and events as of any moment, exports."""

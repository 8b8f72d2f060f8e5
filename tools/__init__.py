"""Developer tools: the Elasticsearch node for tests and development."""

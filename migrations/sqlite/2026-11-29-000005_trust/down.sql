DROP TABLE known_sources;

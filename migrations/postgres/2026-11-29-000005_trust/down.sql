DROP TABLE auth_budgets;
DROP TABLE known_sources;

DROP TABLE license_notices;

-- list.json: every license of the caller in one query (the database's best case; ipls pages).
SELECT * FROM ip_licenses WHERE reseller_id = :rid ORDER BY ip, type_id;

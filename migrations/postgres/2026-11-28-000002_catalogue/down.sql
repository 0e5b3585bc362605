DELETE FROM license_types WHERE id IN
    (1, 2, 4, 5, 1002, 16, 17, 40, 41, 42, 43, 44, 49,
     3, 5003, 5004, 5005, 5011, 5012, 5013, 5014, 5017, 5018, 5019, 5020, 5034, 5035, 7215);
DELETE FROM license_families WHERE name IN ('cloudlinux', 'kernelcare', 'imunify', 'els');

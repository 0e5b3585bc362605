DROP TABLE monitoring_tokens;
DROP TABLE server_group_members;
DROP TABLE server_groups;
ALTER TABLE key_servers DROP COLUMN kernel_supported;
ALTER TABLE key_servers DROP COLUMN latest_patch_level;
ALTER TABLE key_servers DROP COLUMN patch_level;
ALTER TABLE key_servers DROP COLUMN kernel_id;
ALTER TABLE activation_keys DROP COLUMN sticky_tag;

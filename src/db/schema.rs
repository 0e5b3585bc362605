//! Hand-written schema shared by both backends: portable column types only.
//! Keep in step with `migrations/postgres` and `migrations/sqlite`.

diesel::table! {
    license_families (name) {
        name -> Text,
        exclusive -> Bool,
        convertible -> Bool,
    }
}

diesel::table! {
    license_types (id) {
        id -> Integer,
        name -> Text,
        family -> Text,
    }
}

diesel::table! {
    resellers (id) {
        id -> BigInt,
        login -> Text,
        secret -> Text,
        api_enabled -> Bool,
        legacy_sha1 -> Bool,
        trial -> Bool,
        blocked_reason -> Nullable<Text>,
        created_at -> Timestamp,
        allow_from -> Nullable<Text>,
        secret_set_at -> Nullable<Timestamp>,
        secret_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reseller_secrets (id) {
        id -> BigInt,
        reseller_id -> BigInt,
        name -> Text,
        secret -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(reseller_secrets -> resellers (reseller_id));
diesel::allow_tables_to_appear_in_same_query!(reseller_secrets, resellers);

diesel::table! {
    reseller_types (reseller_id, type_id) {
        reseller_id -> BigInt,
        type_id -> Integer,
        license_limit -> Nullable<Integer>,
    }
}

diesel::table! {
    ip_licenses (id) {
        id -> BigInt,
        reseller_id -> BigInt,
        ip -> Text,
        type_id -> Integer,
        slot -> Text,
        els_allowed -> Bool,
        created_at -> Timestamp,
        registered_at -> Nullable<Timestamp>,
        last_checkin -> Nullable<Timestamp>,
        server_info -> Nullable<Text>,
        trial_expires_at -> Nullable<Timestamp>,
        relay_state -> Nullable<Text>,
        note -> Nullable<Text>,
        external_id -> Nullable<Text>,
        ip_key -> Text,
    }
}

diesel::table! {
    license_notices (license_id) {
        license_id -> BigInt,
        stale_noticed_at -> Nullable<Timestamp>,
        trial_warned_at -> Nullable<Timestamp>,
        stale_mailed_at -> Nullable<Timestamp>,
        trial_mailed_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(license_notices -> ip_licenses (license_id));
diesel::allow_tables_to_appear_in_same_query!(license_notices, ip_licenses);
diesel::allow_tables_to_appear_in_same_query!(license_notices, resellers);
diesel::allow_tables_to_appear_in_same_query!(license_notices, license_types);

diesel::table! {
    license_suspensions (license_id) {
        license_id -> BigInt,
        suspended_at -> Timestamp,
        reason -> Text,
        remove_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_trials (reseller_id, family) {
        reseller_id -> BigInt,
        family -> Text,
        started_at -> Timestamp,
        ends_at -> Timestamp,
    }
}

diesel::table! {
    prices (type_id) {
        type_id -> Integer,
        monthly_cents -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    trial_uses (ip, family) {
        ip -> Text,
        family -> Text,
        reseller_id -> BigInt,
        used_at -> Timestamp,
    }
}

diesel::table! {
    license_events (id) {
        id -> BigInt,
        at -> Timestamp,
        reseller_id -> Nullable<BigInt>,
        action -> Text,
        ip -> Text,
        type_id -> Nullable<Integer>,
        detail -> Nullable<Text>,
        source -> Nullable<Text>,
        server_id -> Nullable<Text>,
    }
}

diesel::joinable!(license_types -> license_families (family));
diesel::joinable!(reseller_types -> resellers (reseller_id));
diesel::joinable!(reseller_types -> license_types (type_id));
diesel::joinable!(ip_licenses -> resellers (reseller_id));
diesel::joinable!(ip_licenses -> license_types (type_id));

diesel::allow_tables_to_appear_in_same_query!(
    license_families,
    license_types,
    resellers,
    reseller_types,
    ip_licenses,
    trial_uses,
    license_events,
    prices,
    account_trials,
    license_suspensions,
);
diesel::joinable!(license_suspensions -> ip_licenses (license_id));

diesel::table! {
    known_sources (reseller_id, net) {
        reseller_id -> BigInt,
        net -> Text,
        last_ok_at -> Timestamp,
    }
}

diesel::joinable!(known_sources -> resellers (reseller_id));
diesel::allow_tables_to_appear_in_same_query!(known_sources, resellers);

diesel::table! {
    console_users (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        reseller_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        totp_secret -> Nullable<Text>,
        totp_pending -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    console_recovery_codes (user_id, code_hash) {
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    console_login_steps (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    console_password_resets (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    console_sessions (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        csrf -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::joinable!(console_sessions -> console_users (user_id));
diesel::joinable!(console_login_steps -> console_users (user_id));
diesel::allow_tables_to_appear_in_same_query!(console_login_steps, console_users);
diesel::joinable!(console_password_resets -> console_users (user_id));
diesel::allow_tables_to_appear_in_same_query!(console_password_resets, console_users);
diesel::joinable!(console_users -> resellers (reseller_id));
diesel::allow_tables_to_appear_in_same_query!(console_sessions, console_users, resellers);

diesel::table! {
    admin_tokens (id) {
        id -> BigInt,
        name -> Text,
        token_hash -> Text,
        read_only -> Bool,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (token_id, method, path, key) {
        token_id -> BigInt,
        method -> Text,
        path -> Text,
        key -> Text,
        request_hash -> Text,
        state -> Text,
        status -> Nullable<Integer>,
        body -> Nullable<Text>,
        resource -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(idempotency_keys -> admin_tokens (token_id));
diesel::allow_tables_to_appear_in_same_query!(idempotency_keys, admin_tokens);

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        url -> Text,
        reseller_id -> Nullable<BigInt>,
        events -> Text,
        secret -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        message_id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_duration_ms -> Nullable<Integer>,
        last_response -> Nullable<Text>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        at -> Timestamp,
        status -> Nullable<Integer>,
        duration_ms -> Integer,
        response -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_endpoints -> resellers (reseller_id));
diesel::allow_tables_to_appear_in_same_query!(
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts,
    resellers
);

diesel::table! {
    activation_keys (id) {
        id -> BigInt,
        reseller_id -> BigInt,
        type_id -> Integer,
        key_text -> Text,
        server_limit -> Integer,
        servers -> Integer,
        note -> Text,
        cidrs -> Nullable<Text>,
        is_default -> Bool,
        created_at -> Timestamp,
        sticky_tag -> Nullable<Date>,
    }
}

diesel::table! {
    key_servers (id) {
        id -> BigInt,
        server_id -> Text,
        key_id -> BigInt,
        ip -> Text,
        hostname -> Nullable<Text>,
        created_at -> Timestamp,
        last_checkin -> Nullable<Timestamp>,
        kernel_id -> Nullable<Text>,
        patch_level -> Nullable<Integer>,
        latest_patch_level -> Nullable<Integer>,
        kernel_supported -> Nullable<Bool>,
    }
}

diesel::table! {
    server_groups (id) {
        id -> BigInt,
        reseller_id -> BigInt,
        product -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    server_group_members (server_row) {
        server_row -> BigInt,
        group_id -> BigInt,
    }
}

diesel::table! {
    monitoring_tokens (reseller_id) {
        reseller_id -> BigInt,
        token_sha256 -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(server_group_members -> server_groups (group_id));
diesel::joinable!(server_group_members -> key_servers (server_row));
diesel::allow_tables_to_appear_in_same_query!(server_group_members, server_groups, key_servers);
diesel::allow_tables_to_appear_in_same_query!(server_group_members, activation_keys);
diesel::allow_tables_to_appear_in_same_query!(server_groups, activation_keys);
diesel::joinable!(activation_keys -> resellers (reseller_id));
diesel::joinable!(key_servers -> activation_keys (key_id));
diesel::allow_tables_to_appear_in_same_query!(activation_keys, key_servers, resellers);

diesel::table! {
    upstreams (id) {
        id -> BigInt,
        name -> Text,
        url -> Text,
        login -> Text,
        secret -> Text,
        concurrency -> Integer,
        rate_per_second -> Integer,
        created_at -> Timestamp,
        reconcile_lease_until -> Nullable<Timestamp>,
        reconcile_lease_owner -> Nullable<Text>,
        last_reconcile_at -> Nullable<Timestamp>,
        last_reconcile_counts -> Nullable<Text>,
        failing_alerted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    upstream_routes (type_id) {
        type_id -> Integer,
        upstream_id -> BigInt,
    }
}

diesel::table! {
    upstream_ops (id) {
        id -> BigInt,
        upstream_id -> BigInt,
        ip -> Text,
        op -> Text,
        type_id -> Integer,
        els_allowed -> Nullable<Bool>,
        type_to -> Nullable<Integer>,
        source -> Text,
        created_at -> Timestamp,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        lease_until -> Nullable<Timestamp>,
        first_failure_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        done_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    upstream_claims (upstream_id, ip, type_id) {
        upstream_id -> BigInt,
        ip -> Text,
        type_id -> Integer,
        since -> Timestamp,
    }
}

diesel::joinable!(upstream_routes -> upstreams (upstream_id));
diesel::joinable!(upstream_ops -> upstreams (upstream_id));
diesel::allow_tables_to_appear_in_same_query!(
    upstream_routes,
    upstreams,
    upstream_ops,
    upstream_claims
);
diesel::allow_tables_to_appear_in_same_query!(upstream_routes, license_types);
diesel::allow_tables_to_appear_in_same_query!(upstream_routes, ip_licenses);

diesel::table! {
    report_mailing (reseller_id, family) {
        reseller_id -> BigInt,
        family -> Text,
        active -> Bool,
        addresses -> Text,
    }
}

diesel::joinable!(report_mailing -> resellers (reseller_id));

diesel::table! {
    mail_reports (id) {
        id -> BigInt,
        kind -> Text,
        period -> Text,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> BigInt,
        kind -> Text,
        reseller_id -> Nullable<BigInt>,
        to_address -> Text,
        subject -> Text,
        body -> Text,
        attachment_name -> Nullable<Text>,
        attachment -> Nullable<Text>,
        message_id -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::joinable!(mail_outbox -> resellers (reseller_id));

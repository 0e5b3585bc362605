//! NUL characters in text: Postgres cannot store them, so every place a caller can put text
//! refuses them the same way on both backends (Schemathesis found a block reason with a NUL
//! answered 500; a check-in's server_info did the same).

mod nul_characters_are_refused_not_500 {
    fn run(kind: crate::common::Kind) {
        let Some(srv) = crate::common::TestServer::start_with(
            kind,
            crate::common::Options {
                trusted_proxies: "127.0.0.1",
                ..Default::default()
            },
        ) else {
            return;
        };
        let acme = srv.add_reseller("acme", &[1]);
        acme.ok("register", "ip=203.0.113.5&type=1");
        let checkin = crate::common::get_from(
            srv.addr,
            "203.0.113.5",
            "/api/server/checkin.json?server_info=web%001",
        );
        assert_eq!(checkin.status, 200, "{}", checkin.text());
        assert_eq!(checkin.json()["success"], false, "{}", checkin.text());
        let changes = ipls::domain::resellers::AccountChanges {
            blocked_reason: Some(Some("unpaid\0".into())),
            ..Default::default()
        };
        let refused = ipls::domain::resellers::update(
            &mut srv.conn(),
            "acme",
            &changes,
            &crate::common::test_secrets(),
            &crate::common::by_cli(),
        );
        assert!(
            matches!(refused, Err(ipls::error::DomainError::Invalid(_))),
            "{refused:?}"
        );
        assert_eq!(acme.ok("check", "ip=203.0.113.5"), serde_json::json!([1]));
        // Any other text that reaches Postgres with a NUL is refused too, not a 500.
        let lookup = ipls::domain::resellers::find_by_login(&mut srv.conn(), "ac\0me");
        match kind {
            crate::common::Kind::Postgres => assert!(
                matches!(&lookup, Err(ipls::error::DomainError::Invalid(m)) if m == ipls::error::NUL_REFUSAL),
                "{lookup:?}"
            ),
            crate::common::Kind::Sqlite => assert!(matches!(lookup, Ok(None)), "{lookup:?}"),
        }
    }

    #[test]
    fn sqlite() {
        run(crate::common::Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        run(crate::common::Kind::Postgres);
    }
}

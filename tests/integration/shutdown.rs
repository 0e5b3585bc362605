//! Graceful shutdown: SIGTERM lets an in-flight request finish, then the process exits 0.
//! The request is held in flight deterministically by a row lock the test owns (Postgres).

use std::process::Command;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use ipls::auth::{self, HashForm};
use ipls::domain::resellers::{create, Grants, NewAccount};

use crate::common::process::ServeProcess;
use crate::common::{database, http, test_secrets, Kind, TestDatabase};

#[test]
fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let Some(db) = TestDatabase::create(Kind::Postgres) else {
        return;
    };
    ipls::db::migrate::run_pending(&db.url).expect("migrate");
    let grants = Grants {
        limits: [(1, None)].into_iter().collect(),
    };
    let secret = "shutdown-secret-0123456789";
    let now = chrono::Utc::now().naive_utc();
    let account = NewAccount {
        login: "acme",
        secret,
        trial: false,
        grants: &grants,
        now,
        by: &ipls::domain::Source::Cli,
    };
    create(
        &mut ipls::db::establish(&db.url).unwrap(),
        &account,
        &test_secrets(),
    )
    .unwrap();

    let mut server = ServeProcess::start(&db.url_text(), &[]);
    let addr = server.addr;

    // Hold acme's row lock: the register below waits on it inside the server.
    let mut holder = PgConnection::establish(&db.url.target).unwrap();
    holder
        .batch_execute("BEGIN; SELECT id FROM resellers WHERE login = 'acme' FOR UPDATE")
        .unwrap();
    let token = auth::mint(
        "acme",
        secret,
        chrono::Utc::now().timestamp(),
        HashForm::LegacySha1,
    );
    let in_flight = std::thread::spawn(move || {
        http::request(
            addr,
            "GET",
            &format!("/api/ipl/register.json?ip=203.0.113.7&type=1&token={token}"),
            &[],
            b"",
        )
    });
    // Wait (polling, bounded) until the server's statement is blocked on the lock.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut observer = PgConnection::establish(&db.url.target).unwrap();
    loop {
        let waiting = database::count(
            &mut observer,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
        );
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the request never reached the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    holder.batch_execute("COMMIT").unwrap();

    let response = in_flight.join().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["success"], true, "{}", response.text());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "ipls did not exit within 15 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    let count: i64 = ipls::db::schema::ip_licenses::table
        .count()
        .get_result(&mut ipls::db::establish(&db.url).unwrap())
        .unwrap();
    assert_eq!(count, 1, "the in-flight registration was committed");
}

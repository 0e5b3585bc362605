//! Fault 4: a row lock held from outside (a session holding `SELECT ... FOR UPDATE` on a
//! reseller) while that reseller's limited-type registrations arrive: they answer 503 within
//! lock_timeout, the rest of the API keeps answering, nothing is half-done afterwards.

use std::time::Duration;

use diesel::connection::SimpleConnection;

use crate::common::{Kind, TestDatabase};
use crate::load::{Action, Answer};
use crate::setup::{acme_clients, capped_client, one_at_a_time, seed, serve, target, under_fault};

#[test]
fn reseller_row_locked_from_outside() {
    let _serial = one_at_a_time();
    let Some(db) = TestDatabase::create(Kind::Postgres) else {
        return;
    };
    seed(&db.url);
    let server = serve(&db.url_text(), &[]);
    let mut clients = acme_clients(2);
    clients.push(capped_client());
    let mut holder = ipls::db::establish(&db.url).unwrap();
    // When the lock was really held: the fault's window opens before the holder's SELECT
    // runs, and on a busy machine a registration can take the row in between.
    let mut locked_at = None;
    let (outcomes, (fault_started, fault_ended)) = under_fault(
        "reseller row locked 4 s",
        &db.url,
        target(server.addr),
        clients,
        false,
        || {
            holder
                .batch_execute("BEGIN; SELECT * FROM resellers WHERE login = 'capped' FOR UPDATE;")
                .unwrap();
            locked_at = Some(std::time::Instant::now());
            std::thread::sleep(Duration::from_secs(4));
            holder.batch_execute("ROLLBACK").unwrap();
        },
    );
    let capped_registers: Vec<_> = outcomes
        .iter()
        .filter(|o| o.login == "capped" && matches!(o.action, Action::Register(_)))
        .collect();
    // Every registration made while the lock was held ends in 503 right after lock_timeout
    // (1 s); one that won the row just before the lock was taken may still answer success.
    let locked_at = locked_at.expect("the lock was taken");
    let under_lock: Vec<_> = capped_registers
        .iter()
        .filter(|o| o.started >= locked_at && o.finished <= fault_ended)
        .collect();
    let refused = capped_registers
        .iter()
        .filter(|o| o.finished > fault_started && o.finished <= fault_ended)
        .filter(|o| o.answer == Answer::Unavailable)
        .count();
    assert!(
        refused > 0 && !under_lock.is_empty(),
        "limited registrations met the lock: {:?}",
        capped_registers
            .iter()
            .map(|o| (
                o.started.saturating_duration_since(fault_started),
                o.took(),
                &o.answer
            ))
            .collect::<Vec<_>>()
    );
    for o in &under_lock {
        assert_eq!(o.answer, Answer::Unavailable, "{o:?}");
        assert!(o.took() < Duration::from_secs(2), "{o:?}");
    }
    let others_served = outcomes.iter().any(|o| {
        o.login == "acme"
            && o.started >= fault_started
            && o.finished <= fault_ended
            && matches!(o.answer, Answer::Done(_))
    });
    assert!(others_served, "the rest of the API kept answering");
    drop(server);
}

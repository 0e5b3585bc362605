//! KernelCare monitoring (keys.md, "KernelCare monitoring"): what key servers report at
//! check-in, each server's status from it, and the Nagios text and patch set the monitoring
//! endpoints answer with.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::products::Product;
use crate::db::models::KeyServer;
use crate::db::schema::{activation_keys, key_servers};
use crate::db::DbConnection;
use crate::domain::refuse_nul;
use crate::error::DomainError;

/// A server silent for longer than this is `inactive` (ours: keys.md gives 48 h).
pub const INACTIVE_AFTER_HOURS: i64 = 48;
/// Longer kernel ids are cut to this many characters.
pub const MAX_KERNEL_ID: usize = 128;

/// What a KernelCare server says about its kernel when it checks in.
#[derive(Debug, Clone, Default)]
pub struct KernelReport {
    pub kernel_id: String,
    pub patch_level: Option<i32>,
    /// The newest patch level the server could apply now (its agent knows it).
    pub latest_patch_level: Option<i32>,
    /// Whether the kernel is one KernelCare patches.
    pub supported: Option<bool>,
}

impl KernelReport {
    /// The report as stored: NUL refused, the kernel id cut to MAX_KERNEL_ID characters.
    pub fn cleaned(mut self) -> Result<Self, DomainError> {
        refuse_nul("kernel_id", &self.kernel_id)?;
        self.kernel_id = self.kernel_id.chars().take(MAX_KERNEL_ID).collect();
        Ok(self)
    }
}

/// Records `report` on the server's row, in the check-in's transaction.
pub fn record(
    conn: &mut DbConnection,
    server_row: i64,
    report: &KernelReport,
) -> Result<(), DomainError> {
    diesel::update(key_servers::table.find(server_row))
        .set((
            key_servers::kernel_id.eq(Some(&report.kernel_id)),
            key_servers::patch_level.eq(report.patch_level),
            key_servers::latest_patch_level.eq(report.latest_patch_level),
            key_servers::kernel_supported.eq(report.supported),
        ))
        .execute(conn)?;
    Ok(())
}

/// A server's state as the Nagios answer counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    UpToDate,
    OutOfDate,
    Unsupported,
    Inactive,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::UpToDate => "UPTODATE",
            Status::OutOfDate => "OUTOFDATE",
            Status::Unsupported => "UNSUPPORTED",
            Status::Inactive => "INACTIVE",
        }
    }
}

/// Silent for longer than the bound (or never checked in): inactive; a kernel it says is
/// not supported, or no kernel report at all: unsupported (nothing says it is patched);
/// a newer patch level than the one applied: out of date; otherwise up to date.
pub fn status(server: &KeyServer, now: NaiveDateTime) -> Status {
    let bound = now - Duration::hours(INACTIVE_AFTER_HOURS);
    if server.last_checkin.is_none_or(|at| at < bound) {
        return Status::Inactive;
    }
    if server.kernel_id.is_none() || server.kernel_supported == Some(false) {
        return Status::Unsupported;
    }
    match (server.patch_level, server.latest_patch_level) {
        (Some(applied), Some(latest)) if latest > applied => Status::OutOfDate,
        (None, Some(_)) => Status::OutOfDate,
        _ => Status::UpToDate,
    }
}

/// A KernelCare key's servers and its sticky tag.
pub type KeyWatch = (Vec<KeyServer>, Option<NaiveDate>);

/// The KernelCare servers of one key (None: no such KernelCare key), with the key's sticky
/// tag.
pub fn key_servers(
    conn: &mut DbConnection,
    key_text: &str,
) -> Result<Option<KeyWatch>, DomainError> {
    let Some(key) = super::find(conn, key_text)? else {
        return Ok(None);
    };
    if Product::of_type(key.type_id) != Some(Product::KernelCare) {
        return Ok(None);
    }
    // Read here, not through `servers` (which records reports through this module).
    let servers = key_servers::table
        .filter(key_servers::key_id.eq(key.id))
        .order(key_servers::id)
        .select(KeyServer::as_select())
        .load(conn)?;
    Ok(Some((servers, key.sticky_tag)))
}

/// All of a reseller's KernelCare key servers, oldest first.
pub fn reseller_servers(
    conn: &mut DbConnection,
    reseller_id: i64,
) -> Result<Vec<KeyServer>, DomainError> {
    Ok(key_servers::table
        .inner_join(activation_keys::table)
        .filter(activation_keys::reseller_id.eq(reseller_id))
        .filter(activation_keys::type_id.eq_any(Product::KernelCare.types()))
        .order(key_servers::id)
        .select(KeyServer::as_select())
        .load(conn)?)
}

/// The Nagios answer (keys.md): the summary line with the counts as performance data, then
/// the servers in the summary's state, one per line; the key form adds its sticky tag.
pub fn nagios_text(servers: &[KeyServer], sticky: Option<NaiveDate>, now: NaiveDateTime) -> String {
    let statuses: Vec<(Status, &KeyServer)> = servers.iter().map(|s| (status(s, now), s)).collect();
    let count = |wanted: Status| statuses.iter().filter(|(s, _)| *s == wanted).count();
    let perf = format!(
        "uptodate={};outofdate={};unsupported={};inactive={}",
        count(Status::UpToDate),
        count(Status::OutOfDate),
        count(Status::Unsupported),
        count(Status::Inactive)
    );
    // The worst state present names the summary: out of date, then unsupported, then inactive.
    let worst = [Status::OutOfDate, Status::Unsupported, Status::Inactive]
        .into_iter()
        .find(|s| count(*s) > 0);
    let mut out = match worst {
        None => format!("KernelCare OK - all servers are up to date!|{perf}\n"),
        Some(state) => {
            let n = count(state);
            let verb = if n == 1 { "machine is" } else { "machines are" };
            let mut text = format!("{n} {verb} {}!|{perf}\n", state.word());
            for (_, server) in statuses.iter().filter(|(s, _)| *s == state) {
                let host = server.hostname.as_deref().unwrap_or(&server.ip);
                text.push_str(&format!("{host} ({}) is {}\n", server.ip, state.word()));
            }
            text
        }
    };
    if let Some(tag) = sticky {
        out.push_str(&format!("Sticky tag: {}\n", tag.format("%Y-%m-%d")));
    }
    out
}

/// A `patchset.json` row, as the `kcare-qualys` exporter reads it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PatchsetRow {
    pub ip: String,
    pub host: String,
    pub kernel_id: String,
    pub patch_level: i32,
}

/// The servers that reported a kernel, with what they reported (a server without a patch
/// level has applied none: 0).
pub fn patchset(servers: &[KeyServer]) -> Vec<PatchsetRow> {
    servers
        .iter()
        .filter_map(|s| {
            Some(PatchsetRow {
                ip: s.ip.clone(),
                host: s.hostname.clone().unwrap_or_else(|| s.ip.clone()),
                kernel_id: s.kernel_id.clone()?,
                patch_level: s.patch_level.unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(
        host: &str,
        ip: &str,
        ago_hours: Option<i64>,
        levels: (i32, i32),
        ok: bool,
    ) -> KeyServer {
        let now = at(100);
        KeyServer {
            id: 1,
            server_id: "Ab3dEf6hIj9kLm2N".into(),
            key_id: 1,
            ip: ip.into(),
            hostname: Some(host.into()),
            created_at: now,
            last_checkin: ago_hours.map(|h| now - Duration::hours(h)),
            kernel_id: Some("a1b2".into()),
            patch_level: Some(levels.0),
            latest_patch_level: Some(levels.1),
            kernel_supported: Some(ok),
        }
    }

    fn at(hours: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap()
            + Duration::hours(hours)
    }

    #[test]
    fn the_contract_sample_is_written_byte_for_byte() {
        let mut servers = Vec::new();
        for i in 0..6 {
            servers.push(server(
                &format!("ok{i}"),
                "198.51.100.1",
                Some(1),
                (5, 5),
                true,
            ));
        }
        servers.push(server(
            "host.example.com",
            "203.0.113.14",
            Some(1),
            (3, 5),
            true,
        ));
        servers.push(server(
            "b.example.com",
            "203.0.113.15",
            Some(1),
            (3, 5),
            true,
        ));
        servers.push(server(
            "c.example.com",
            "203.0.113.16",
            Some(1),
            (3, 5),
            true,
        ));
        servers.push(server("u1", "198.51.100.2", Some(1), (5, 5), false));
        servers.push(server("u2", "198.51.100.3", Some(1), (5, 5), false));
        servers.push(server("gone", "198.51.100.4", Some(49), (5, 5), true));
        assert_eq!(
            nagios_text(&servers, None, at(100)),
            "3 machines are OUTOFDATE!|uptodate=6;outofdate=3;unsupported=2;inactive=1\n\
             host.example.com (203.0.113.14) is OUTOFDATE\n\
             b.example.com (203.0.113.15) is OUTOFDATE\n\
             c.example.com (203.0.113.16) is OUTOFDATE\n"
        );
        let fine = vec![server("ok", "198.51.100.1", Some(47), (5, 5), true)];
        assert_eq!(
            nagios_text(&fine, None, at(100)),
            "KernelCare OK - all servers are up to date!|uptodate=1;outofdate=0;unsupported=0;inactive=0\n"
        );
    }
}

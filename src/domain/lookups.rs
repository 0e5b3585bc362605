//! The coalesced read lookups behind check.json (and XML-RPC's check) and
//! availability.json (`db::coalesce`).

use super::queries::{self, Availability, AvailabilityQuery, TypesQuery};
use crate::db::coalesce::{CoalesceStats, Coalescer};
use crate::db::Pool;

/// check.json's lookups run one statement at a time: the calls that arrive while it runs
/// form the next batch, and a lone call finds the lane free. Measured (docs/benchmarks.md,
/// "Coalesced reads"): one lane gave batches of about 13 lookups and the highest rate; two
/// lanes gave about 7.6 per batch and 5 to 15 % less, four and eight less again.
pub const CHECK_LANES: usize = 1;

/// availability.json may run two at once: besides its two batched statements, a caller with
/// a limited type counts its licenses and a trial account reads its used trials, one
/// statement each, and one large count must not hold every other caller's answer.
pub const AVAILABILITY_LANES: usize = 2;

#[derive(Clone)]
pub struct Lookups {
    pub types_on_ip: Coalescer<TypesQuery, Vec<i32>>,
    pub availability: Coalescer<AvailabilityQuery, Availability>,
}

impl Lookups {
    pub fn new(pool: &Pool) -> Self {
        Self {
            types_on_ip: Coalescer::new(pool.clone(), CHECK_LANES, queries::types_on_ips),
            availability: Coalescer::new(
                pool.clone(),
                AVAILABILITY_LANES,
                queries::availability_of,
            ),
        }
    }

    /// `/metrics` lines: lookups and the statements that answered them, per kind.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP ipls_coalesced_lookups_total Read lookups answered through a coalesced statement.\n\
             # TYPE ipls_coalesced_lookups_total counter\n",
        );
        let kinds = [
            ("check", self.types_on_ip.stats()),
            ("availability", self.availability.stats()),
        ];
        for (kind, CoalesceStats { calls, .. }) in kinds {
            out.push_str(&format!(
                "ipls_coalesced_lookups_total{{kind=\"{kind}\"}} {calls}\n"
            ));
        }
        out.push_str(
            "# HELP ipls_coalesced_statements_total Statements that answered coalesced lookups.\n\
             # TYPE ipls_coalesced_statements_total counter\n",
        );
        for (kind, CoalesceStats { batches, .. }) in kinds {
            out.push_str(&format!(
                "ipls_coalesced_statements_total{{kind=\"{kind}\"}} {batches}\n"
            ));
        }
        out
    }
}

//! `ipls webhook ...`: webhook endpoints and their deliveries.

use clap::Subcommand;

use super::error::CliError;
use super::output::{self, col, Cell, Format};
use super::{connect, domain_error};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::webhooks::{deliveries, endpoints};
use crate::webhooks::ping::send_test;
use crate::webhooks::subscribe::{add_endpoint, EndpointRequest};
use crate::wire::cut;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint; prints its signing secret once.
    Add {
        url: String,
        /// Only this reseller's events (default: every reseller's, for the operator).
        #[arg(long)]
        reseller: Option<String>,
        /// `*` (default) or a comma-separated list, e.g. license.registered,license.removed.
        #[arg(long, default_value = "*")]
        events: String,
    },
    /// List endpoints (never their secrets).
    List {
        /// Output as an aligned table, CSV or JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove an endpoint with its queued deliveries and log.
    Remove { id: i64 },
    /// Send a signed webhook.test message to the endpoint now and print its answer.
    Test { id: i64 },
    /// The endpoint's latest deliveries, newest first.
    Deliveries {
        id: i64,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
        /// Output as an aligned table, CSV or JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Queue a delivery again (due at once) and enable its endpoint if it was disabled.
    Retry { delivery_id: i64 },
}

pub fn run(config: &Config, clock: &dyn Clock, command: WebhookCommand) -> Result<(), CliError> {
    let (mut conn, secrets) = connect(config)?;
    let conn = &mut conn;
    let settings = &config.webhooks;
    match command {
        WebhookCommand::Add {
            url,
            reseller,
            events,
        } => {
            let request = EndpointRequest {
                url: &url,
                reseller: reseller.as_deref(),
                events: &events,
                now: clock.now().naive_utc(),
            };
            let (view, secret) = add_endpoint(conn, &request, &secrets, settings.allow_private)
                .map_err(domain_error)?;
            println!(
                "added webhook endpoint {} -> {} ({})",
                view.endpoint.id,
                view.endpoint.url,
                view.subscription.display()
            );
            println!("signing secret: {secret}");
            println!("(shown once: receivers verify the webhook-signature header with it)");
        }
        WebhookCommand::List { format } => list(conn, format)?,
        WebhookCommand::Remove { id } => {
            endpoints::remove(conn, id).map_err(domain_error)?;
            println!("removed webhook endpoint {id}");
        }
        WebhookCommand::Test { id } => {
            let view = endpoints::get(conn, id).map_err(domain_error)?;
            let runtime = actix_web::rt::System::new();
            let (message_id, answer) =
                runtime.block_on(send_test(&view.endpoint, &secrets, settings))?;
            let body = deliveries::logged_answer(&answer.body);
            match (answer.status, answer.error) {
                (Some(status), _) => println!(
                    "{message_id}: HTTP {status} in {} ms {body}",
                    answer.elapsed.as_millis()
                ),
                (None, Some(error)) => {
                    return Err(format!("{message_id}: not delivered: {error}").into());
                }
                (None, None) => return Err(format!("{message_id}: no answer").into()),
            }
            if !(200..300).contains(&answer.status.unwrap_or_default()) {
                return Err("the endpoint did not accept the test message".into());
            }
        }
        WebhookCommand::Deliveries { id, limit, format } => deliveries_of(conn, id, limit, format)?,
        WebhookCommand::Retry { delivery_id } => {
            let delivery = deliveries::retry(conn, delivery_id).map_err(domain_error)?;
            println!(
                "delivery {} ({}) queued again for endpoint {}; a running ipls serve sends it",
                delivery.id, delivery.message_id, delivery.endpoint_id
            );
        }
    }
    Ok(())
}

fn list(conn: &mut crate::db::DbConnection, format: Format) -> Result<(), CliError> {
    let rows: Vec<Vec<Cell>> = endpoints::list(conn, None)
        .map_err(domain_error)?
        .into_iter()
        .map(|v| {
            vec![
                Cell::Int(v.endpoint.id),
                Cell::text(v.endpoint.url),
                Cell::opt_text(v.reseller),
                Cell::text(v.subscription.display()),
                Cell::text(if v.endpoint.enabled {
                    "enabled"
                } else {
                    "disabled"
                }),
                Cell::opt_text(v.endpoint.disabled_reason),
            ]
        })
        .collect();
    output::print(
        format,
        &[
            col("id", "ID"),
            col("url", "URL"),
            col("reseller", "RESELLER (EMPTY: ALL)"),
            col("events", "EVENTS"),
            col("state", "STATE"),
            col("disabled_reason", "DISABLED BECAUSE"),
        ],
        &rows,
    );
    Ok(())
}

fn deliveries_of(
    conn: &mut crate::db::DbConnection,
    id: i64,
    limit: i64,
    format: Format,
) -> Result<(), CliError> {
    endpoints::get(conn, id).map_err(domain_error)?;
    let list = deliveries::list(conn, id, None, limit).map_err(domain_error)?;
    let rows: Vec<Vec<Cell>> = list
        .into_iter()
        .map(|d| {
            vec![
                Cell::Int(d.id),
                Cell::text(d.message_id),
                Cell::text(d.event_type),
                Cell::Time(d.created_at),
                Cell::text(d.state),
                Cell::int(d.attempts),
                d.last_status.map_or(Cell::Null, Cell::int),
                d.last_duration_ms.map_or(Cell::Null, Cell::int),
                Cell::opt_text(d.last_error.map(|e| cut(&e, 60))),
            ]
        })
        .collect();
    output::print(
        format,
        &[
            col("id", "ID"),
            col("message_id", "WEBHOOK-ID"),
            col("event", "EVENT"),
            col("created_at", "QUEUED (UTC)"),
            col("state", "STATE"),
            col("attempts", "ATTEMPTS"),
            col("last_status", "LAST STATUS"),
            col("last_duration_ms", "LAST MS"),
            col("last_error", "LAST ERROR"),
        ],
        &rows,
    );
    Ok(())
}

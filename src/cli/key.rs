//! `ipls key ...`: activation keys from the operator's side (keys.md). Changes are made as
//! the key's reseller, from source `cli`, through the same domain calls as the API.

use clap::Subcommand;
use ipnet::IpNet;

use super::error::CliError;
use super::output::{self, col, Cell, Column, Format};
use super::{connect, domain_error};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::models::{ActivationKey, Reseller};
use crate::db::DbConnection;
use crate::domain::actor::{self, ActingFor, Actor, Source};
use crate::domain::keys::manage::{self, KeyChange};
use crate::domain::keys::products::{parse_product, product_codes, product_name};
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{self, cidr, monitoring_tokens, sticky, Product};
use crate::domain::resellers as accounts;
use crate::error::DomainError;
use crate::wire::format_date;

const KEY_COLUMNS: &[Column] = &[
    col("key", "KEY"),
    col("reseller", "RESELLER"),
    col("product", "PRODUCT"),
    col("servers", "SERVERS"),
    col("limit", "LIMIT"),
    col("note", "NOTE"),
    col("ip_ranges", "RANGES"),
    col("default", "DEFAULT"),
    col("created_at", "CREATED (UTC)"),
    col("sticky_tag", "STICKY TAG"),
];

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key for a reseller; prints the key.
    Create {
        #[arg(long)]
        reseller: String,
        /// kcare; an Imunify code (AVP, 360_1, 360_5, 360_30, 360_250, 360_UN, CLEAN); a
        /// CloudLinux OS product (CL, CLP, CLS, CLADMIN); or an ELS code (CELS, CELS7, ...).
        #[arg(long, value_parser = product_type)]
        product: i32,
        /// Servers the key may hold; 0 = unlimited.
        #[arg(long, default_value_t = 1)]
        limit: i32,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// List keys with their use, optionally of one reseller.
    List {
        #[arg(long)]
        reseller: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// One key: owner, product, use, note, IP ranges, and its servers.
    Show { key: String },
    /// Delete a key and its servers (a default key cannot be deleted).
    Delete { key: String },
    /// Change how many servers a key may hold (0 = unlimited; not below its servers).
    SetLimit { key: String, limit: i32 },
    /// Replace a KernelCare key's IP ranges: CIDRs separated by spaces, commas or
    /// semicolons; "" lets servers register from anywhere.
    SetCidr {
        key: String,
        #[arg(value_parser = key_ranges)]
        cidr: KeyRanges,
    },
    /// The servers registered with a key.
    Servers {
        key: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove a server from its key (by server id), freeing its slot.
    RemoveServer { server_id: String },
    /// Pin a KernelCare key's servers to patches released before DATE (YYYY-MM-DD, from
    /// 2018-05-28 to yesterday), or "none" to clear the sticky tag.
    SetStickyTag { key: String, date: String },
    /// A reseller's read-only monitoring token for the Nagios reseller form: a new one
    /// (printed once; the old one stops working), or --revoke to end it.
    MonitoringToken {
        #[arg(long)]
        reseller: String,
        #[arg(long)]
        revoke: bool,
    },
}

pub fn run(config: &Config, clock: &dyn Clock, command: KeyCommand) -> Result<(), CliError> {
    let now = clock.now().naive_utc();
    let (mut conn, _) = connect(config)?;
    let conn = &mut conn;
    match command {
        KeyCommand::Create {
            reseller,
            product,
            limit,
            note,
        } => {
            let key = act(conn, ActingFor::Login(reseller), now, |c, actor| {
                manage::create(c, actor, product, limit, &note)
            })?;
            println!("{}", key.key_text);
            Ok(())
        }
        KeyCommand::List { reseller, format } => list(conn, reseller.as_deref(), format),
        KeyCommand::Show { key } => show(conn, &key),
        KeyCommand::Delete { key } => {
            let removed = act(conn, ActingFor::KeyOwner(key.clone()), now, |c, actor| {
                manage::delete(c, actor, None, &key)
            })?;
            let servers = removed.map_or(0, |s| s.len());
            println!("deleted key {key} and its {servers} server(s)");
            Ok(())
        }
        KeyCommand::SetLimit { key, limit } => {
            let change = KeyChange {
                limit: Some(limit),
                ..KeyChange::default()
            };
            act(conn, ActingFor::KeyOwner(key.clone()), now, |c, actor| {
                manage::update(c, actor, None, &key, &change)
            })?;
            println!("key {key}: limit {}", limit_text(limit));
            Ok(())
        }
        KeyCommand::SetCidr {
            key,
            cidr: KeyRanges(blocks),
        } => {
            act(conn, ActingFor::KeyOwner(key.clone()), now, |c, actor| {
                manage::set_ranges(c, actor, None, &key, &blocks)
            })?;
            match cidr::to_stored(&blocks) {
                Some(ranges) => println!("key {key}: servers may register from {ranges}"),
                None => println!("key {key}: servers may register from anywhere"),
            }
            Ok(())
        }
        KeyCommand::Servers { key, format } => {
            let found = owned(conn, &key)?;
            let rows = servers::of_key(conn, found.0.id).map_err(domain_error)?;
            print_servers(&rows, format);
            Ok(())
        }
        KeyCommand::SetStickyTag { key, date } => {
            let tag = match date.as_str() {
                "none" => None,
                text => Some(sticky::parse(text, now.date()).map_err(domain_error)?),
            };
            act(conn, ActingFor::KeyOwner(key.clone()), now, |c, actor| {
                sticky::set(c, actor, &key, tag)
            })?;
            match tag {
                Some(day) => println!("key {key}: servers take patches released before {day}"),
                None => println!("key {key}: no sticky tag"),
            }
            Ok(())
        }
        KeyCommand::MonitoringToken { reseller, revoke } => {
            let id = accounts::get(conn, &reseller).map_err(domain_error)?.id;
            let by = accounts::ChangedBy {
                source: &Source::Cli,
                now,
            };
            if revoke {
                let had = monitoring_tokens::revoke(conn, id, &by).map_err(domain_error)?;
                println!(
                    "{reseller}: {}",
                    if had {
                        "monitoring token revoked"
                    } else {
                        "had no monitoring token"
                    }
                );
            } else {
                println!(
                    "{}",
                    monitoring_tokens::rotate(conn, id, &by).map_err(domain_error)?
                );
            }
            Ok(())
        }
        KeyCommand::RemoveServer { server_id } => {
            let source = Source::Cli.to_string();
            let remover = Remover::Server {
                key: None,
                source: &source,
                now,
            };
            match servers::remove(conn, None, &server_id, &remover).map_err(domain_error)? {
                Some((server, key)) => {
                    println!(
                        "removed server {} from key {}",
                        server.server_id, key.key_text
                    );
                    Ok(())
                }
                None => Err(format!("no server {server_id:?}").into()),
            }
        }
    }
}

/// Runs `f` as the reseller `who` names, from the operator's command line.
fn act<T>(
    conn: &mut DbConnection,
    who: ActingFor,
    now: chrono::NaiveDateTime,
    f: impl FnOnce(&mut DbConnection, &Actor<'_>) -> Result<T, DomainError>,
) -> Result<T, CliError> {
    Ok(actor::act(conn, who, &Source::Cli, now, f)?)
}

/// A KernelCare key's ranges (one clap value, hence the newtype).
#[derive(Debug, Clone)]
pub struct KeyRanges(Vec<IpNet>);

/// A KernelCare key's ranges, as `key/set_cidr.json` reads them (a usage error otherwise).
fn key_ranges(text: &str) -> Result<KeyRanges, String> {
    cidr::parse(text).map(KeyRanges).map_err(|r| r.message)
}

/// `--product`: kcare or another key product's code, as a license type.
fn product_type(text: &str) -> Result<i32, String> {
    parse_product(text).ok_or_else(|| {
        format!(
            "--product {text:?}: expected kcare or a product code ({})",
            product_codes().join(", ")
        )
    })
}

/// What the product is called in listings: `kernelcare`, or the product's slug and code
/// (`imunify 360_1`, `cloudlinux CLP`, `els CELS`).
fn product_label(type_id: i32) -> String {
    match Product::of_type(type_id) {
        Some(Product::KernelCare) | None => "kernelcare".to_string(),
        Some(product) => format!("{} {}", product.slug(), product_name(type_id)),
    }
}

fn limit_text(limit: i32) -> String {
    if limit == 0 {
        "unlimited".to_string()
    } else {
        limit.to_string()
    }
}

/// "2/5", with CLN's words when the key is full.
pub fn use_text(key: &ActivationKey) -> String {
    let used = format!("{}/{}", key.servers, limit_text(key.server_limit));
    if key.server_limit != 0 && key.servers >= key.server_limit {
        format!(
            "{used} (Maximum usage count of {} reached)",
            key.server_limit
        )
    } else {
        used
    }
}

/// The key and its reseller, or an error naming the key.
fn owned(conn: &mut DbConnection, key: &str) -> Result<(ActivationKey, Reseller), CliError> {
    let owner = ActingFor::KeyOwner(key.to_string()).resolve(conn)?;
    let found = keys::find(conn, key)?.ok_or_else(|| format!("no key {key:?}"))?;
    Ok((found, owner))
}

fn list(conn: &mut DbConnection, login: Option<&str>, format: Format) -> Result<(), CliError> {
    let reseller_id = match login {
        Some(login) => Some(accounts::get(conn, login).map_err(domain_error)?.id),
        None => None,
    };
    let found = manage::list(conn, reseller_id, None).map_err(domain_error)?;
    let logins = accounts::logins_by_id(conn).map_err(domain_error)?;
    let cells: Vec<Vec<Cell>> = found
        .iter()
        .map(|k| {
            vec![
                Cell::text(&k.key_text),
                Cell::opt_text(logins.get(&k.reseller_id).cloned()),
                Cell::text(product_label(k.type_id)),
                Cell::Count {
                    value: k.servers.into(),
                    shown: use_text(k),
                },
                Cell::int(k.server_limit),
                Cell::text(&k.note),
                Cell::opt_text(k.cidrs.clone()),
                Cell::Bool(k.is_default),
                Cell::Time(k.created_at),
                Cell::opt_text(k.sticky_tag.map(|d| d.to_string())),
            ]
        })
        .collect();
    output::print(format, KEY_COLUMNS, &cells);
    if format == Format::Table {
        output::line(&format!("{} key(s)", cells.len()));
    }
    Ok(())
}

fn show(conn: &mut DbConnection, key: &str) -> Result<(), CliError> {
    let (found, owner) = owned(conn, key)?;
    let product = Product::of_type(found.type_id).map_or("?", Product::name);
    println!("key:       {}", found.key_text);
    println!("reseller:  {}", owner.login);
    println!("product:   {product} ({})", product_label(found.type_id));
    println!("servers:   {}", use_text(&found));
    println!("note:      {}", found.note);
    println!(
        "ranges:    {}",
        found.cidrs.as_deref().unwrap_or("any address")
    );
    println!("default:   {}", if found.is_default { "yes" } else { "no" });
    if let Some(tag) = found.sticky_tag {
        println!("sticky:    {tag} (servers take patches released before it)");
    }
    println!("created:   {}", format_date(found.created_at));
    let rows = servers::of_key(conn, found.id).map_err(domain_error)?;
    println!();
    print_servers(&rows, Format::Table);
    Ok(())
}

fn print_servers(rows: &[crate::db::models::KeyServer], format: Format) {
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|s| {
            vec![
                Cell::text(&s.server_id),
                Cell::text(&s.ip),
                Cell::opt_text(s.hostname.clone()),
                Cell::Time(s.created_at),
                Cell::opt_time(s.last_checkin),
                Cell::opt_text(s.kernel_id.clone()),
                Cell::opt_text(s.patch_level.map(|l| l.to_string())),
            ]
        })
        .collect();
    output::print(
        format,
        &[
            col("server_id", "SERVER ID"),
            col("ip", "IP"),
            col("hostname", "HOSTNAME"),
            col("created_at", "CREATED (UTC)"),
            col("last_checkin", "LAST CHECK-IN (UTC)"),
            col("kernel_id", "KERNEL"),
            col("patch_level", "PATCH"),
        ],
        &cells,
    );
    if format == Format::Table {
        output::line(&format!("{} server(s)", cells.len()));
    }
}

//! `ipls key ...`: activation keys from the operator's side (keys.md). Changes are made as
//! the key's reseller, from source `cli`, through the same domain calls as the API.

use clap::Subcommand;
use diesel::prelude::*;

use super::output::{self, Format};
use super::{connect, domain_error};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::models::{ActivationKey, Reseller};
use crate::db::schema::resellers;
use crate::db::DbConnection;
use crate::domain::keys::manage::{self, KeyChange};
use crate::domain::keys::products::{imunify_code, parse_product, KERNELCARE_TYPE};
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{self, cidr, Product};
use crate::domain::{resellers as accounts, Actor};
use crate::wire::format_date;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key for a reseller; prints the key.
    Create {
        #[arg(long)]
        reseller: String,
        /// kcare, or an Imunify code: AVP, 360_1, 360_5, 360_30, 360_250, 360_UN, CLEAN.
        #[arg(long)]
        product: String,
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
    SetCidr { key: String, cidr: String },
    /// The servers registered with a key.
    Servers {
        key: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove a server from its key (by server id), freeing its slot.
    RemoveServer { server_id: String },
}

pub fn run(config: &Config, clock: &dyn Clock, command: KeyCommand) -> Result<(), String> {
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
            let type_id = product_type(&product)?;
            let owner = accounts::get(conn, &reseller).map_err(domain_error)?;
            let actor = cli_actor(&owner, now);
            let key = manage::create(conn, &actor, type_id, limit, &note).map_err(domain_error)?;
            println!("{}", key.key_text);
            Ok(())
        }
        KeyCommand::List { reseller, format } => list(conn, reseller.as_deref(), format),
        KeyCommand::Show { key } => show(conn, &key),
        KeyCommand::Delete { key } => {
            let found = owned(conn, &key)?;
            let actor = cli_actor(&found.1, now);
            let removed = manage::delete(conn, &actor, None, &key).map_err(domain_error)?;
            let servers = removed.map_or(0, |s| s.len());
            println!("deleted key {key} and its {servers} server(s)");
            Ok(())
        }
        KeyCommand::SetLimit { key, limit } => {
            let found = owned(conn, &key)?;
            let actor = cli_actor(&found.1, now);
            let change = KeyChange {
                limit: Some(limit),
                note: None,
            };
            manage::update(conn, &actor, None, &key, &change).map_err(domain_error)?;
            println!("key {key}: limit {}", limit_text(limit));
            Ok(())
        }
        KeyCommand::SetCidr { key, cidr: text } => {
            let found = owned(conn, &key)?;
            if found.0.type_id != KERNELCARE_TYPE {
                return Err(format!(
                    "key {key} is not a KernelCare key: only those take IP ranges"
                ));
            }
            let blocks = cidr::parse(&text).map_err(|r| r.message)?;
            let actor = cli_actor(&found.1, now);
            manage::set_ranges(conn, &actor, None, &key, &blocks).map_err(domain_error)?;
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
        KeyCommand::RemoveServer { server_id } => {
            let remover = Remover::Server {
                key: None,
                source: "cli",
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
                None => Err(format!("no server {server_id:?}")),
            }
        }
    }
}

fn cli_actor(reseller: &Reseller, now: chrono::NaiveDateTime) -> Actor<'_> {
    Actor {
        reseller,
        source: "cli",
        now,
    }
}

/// `--product`: kcare or an Imunify code, as a license type.
fn product_type(text: &str) -> Result<i32, String> {
    parse_product(text).ok_or_else(|| {
        format!(
            "--product {text:?}: expected kcare or an Imunify code ({})",
            keys::products::IMUNIFY_CODES.map(|(c, _)| c).join(", ")
        )
    })
}

/// What the product is called in listings.
fn product_label(type_id: i32) -> String {
    match imunify_code(type_id) {
        Some(code) => format!("imunify {code}"),
        None => "kernelcare".to_string(),
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
fn owned(conn: &mut DbConnection, key: &str) -> Result<(ActivationKey, Reseller), String> {
    let found = keys::find(conn, key)
        .map_err(domain_error)?
        .ok_or_else(|| format!("no key {key:?}"))?;
    let owner = resellers::table
        .find(found.reseller_id)
        .select(Reseller::as_select())
        .first(conn)
        .map_err(|e| domain_error(e.into()))?;
    Ok((found, owner))
}

fn list(conn: &mut DbConnection, login: Option<&str>, format: Format) -> Result<(), String> {
    let reseller_id = match login {
        Some(login) => Some(accounts::get(conn, login).map_err(domain_error)?.id),
        None => None,
    };
    let found = manage::list(conn, reseller_id, None).map_err(domain_error)?;
    let logins = accounts::logins_by_id(conn).map_err(domain_error)?;
    let cells: Vec<Vec<String>> = found
        .iter()
        .map(|k| {
            vec![
                k.key_text.clone(),
                logins.get(&k.reseller_id).cloned().unwrap_or_default(),
                product_label(k.type_id),
                use_text(k),
                k.note.clone(),
                k.cidrs.clone().unwrap_or_default(),
                if k.is_default { "yes" } else { "no" }.to_string(),
                format_date(k.created_at),
            ]
        })
        .collect();
    let headers = [
        "KEY", "RESELLER", "PRODUCT", "SERVERS", "NOTE", "RANGES", "DEFAULT", "CREATED",
    ];
    output::print(format, &headers, &cells);
    if format == Format::Table {
        println!("{} key(s)", cells.len());
    }
    Ok(())
}

fn show(conn: &mut DbConnection, key: &str) -> Result<(), String> {
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
    println!("created:   {}", format_date(found.created_at));
    let rows = servers::of_key(conn, found.id).map_err(domain_error)?;
    println!();
    print_servers(&rows, Format::Table);
    Ok(())
}

fn print_servers(rows: &[crate::db::models::KeyServer], format: Format) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|s| {
            vec![
                s.server_id.clone(),
                s.ip.clone(),
                s.hostname.clone().unwrap_or_default(),
                format_date(s.created_at),
                s.last_checkin.map(format_date).unwrap_or_default(),
            ]
        })
        .collect();
    output::print(
        format,
        &["SERVER_ID", "IP", "HOSTNAME", "CREATED", "LAST_CHECKIN"],
        &cells,
    );
    if format == Format::Table {
        println!("{} server(s)", cells.len());
    }
}

//! Listings in the format the operator asks for: an aligned table or CSV under column titles
//! for people, or JSON for scripts, with stable snake_case field names and JSON's own numbers,
//! booleans, nulls, and ISO 8601 times. Output to a closed pipe (`ipls ... | head`) ends the
//! listing quietly instead of panicking.

use std::io::Write;

use chrono::NaiveDateTime;
use clap::ValueEnum;
use serde_json::Value;

use super::table;
use crate::wire::{csv_cell, iso};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// One column: its JSON field name and its title for tables and CSV.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub field: &'static str,
    pub title: &'static str,
}

pub const fn col(field: &'static str, title: &'static str) -> Column {
    Column { field, title }
}

/// One value of a row, typed so that JSON gets numbers, booleans, nulls and times as such.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Bool(bool),
    /// A UTC time: `YYYY-MM-DD HH:MM` in a table, ISO 8601 in JSON.
    Time(NaiveDateTime),
    /// An amount in cents: `12.50` in a table, the whole number of cents in JSON.
    Cents(i64),
    /// A number shown to people in words (`1/1 (Maximum usage count of 1 reached)`).
    Count {
        value: i64,
        shown: String,
    },
    /// No value: empty in a table, null in JSON.
    Null,
}

impl Cell {
    pub fn text(value: impl Into<String>) -> Self {
        Cell::Text(value.into())
    }

    pub fn opt_text(value: Option<impl Into<String>>) -> Self {
        value.map_or(Cell::Null, |v| Cell::Text(v.into()))
    }

    pub fn opt_time(value: Option<NaiveDateTime>) -> Self {
        value.map_or(Cell::Null, Cell::Time)
    }

    pub fn int(value: impl Into<i64>) -> Self {
        Cell::Int(value.into())
    }

    /// For people: booleans as yes/no, times to the minute, no value as `-` in a table (an
    /// empty cell would shift the columns a reader counts) and empty in CSV.
    fn shown(&self, format: Format) -> String {
        if *self == Cell::Null && format == Format::Table {
            return "-".to_string();
        }
        self.text_of()
    }

    fn text_of(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            Cell::Time(at) => at.format("%Y-%m-%d %H:%M").to_string(),
            Cell::Cents(c) => crate::domain::prices::format_cents(*c),
            Cell::Count { shown, .. } => shown.clone(),
            Cell::Null => String::new(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(t) => Value::String(t.clone()),
            Cell::Int(n) => Value::from(*n),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Time(at) => Value::String(iso(*at)),
            Cell::Cents(c) | Cell::Count { value: c, .. } => Value::from(*c),
            Cell::Null => Value::Null,
        }
    }
}

/// Prints the rows; a table ends with nothing after it (callers may add a count line).
pub fn print(format: Format, columns: &[Column], rows: &[Vec<Cell>]) {
    let mut out = std::io::stdout().lock();
    // A write error is a closed pipe or a full disk: nothing more can be shown.
    let _ = write_rows(&mut out, format, columns, rows);
}

/// Prints one line of text after a listing (a count, a hint), quietly on a closed pipe.
pub fn line(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn write_rows(
    out: &mut impl Write,
    format: Format,
    columns: &[Column],
    rows: &[Vec<Cell>],
) -> std::io::Result<()> {
    match format {
        Format::Table => {
            let titles: Vec<&str> = columns.iter().map(|c| c.title).collect();
            let shown: Vec<Vec<String>> = rows
                .iter()
                .map(|row| row.iter().map(|c| c.shown(Format::Table)).collect())
                .collect();
            table::write(out, &titles, &shown)
        }
        Format::Csv => {
            let titles: Vec<&str> = columns.iter().map(|c| c.field).collect();
            writeln!(out, "{}", titles.join(","))?;
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| csv_cell(&c.shown(Format::Csv)))
                    .collect();
                writeln!(out, "{}", cells.join(","))?;
            }
            Ok(())
        }
        Format::Json => {
            let objects: Vec<serde_json::Map<String, Value>> = rows
                .iter()
                .map(|row| {
                    columns
                        .iter()
                        .zip(row)
                        .map(|(c, cell)| (c.field.to_string(), cell.json()))
                        .collect()
                })
                .collect();
            writeln!(out, "{}", Value::from(objects))
        }
    }
}

pub use crate::wire::duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("7d").unwrap(), chrono::Duration::days(7));
        assert_eq!(duration("36h").unwrap(), chrono::Duration::hours(36));
        assert!(duration("7").is_err());
        assert!(duration("d").is_err());
        assert!(duration("-1d").is_err());
        assert!(duration("").is_err());
        assert!(duration("7€").is_err());
        assert!(duration("€").is_err());
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn json_keeps_types_and_field_names() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let mut out = Vec::new();
        write_rows(
            &mut out,
            Format::Json,
            &[
                col("attempts", "ATTEMPTS"),
                col("created_at", "CREATED (UTC)"),
                col("legacy_sha1", "LEGACY SHA1"),
                col("note", "NOTE"),
            ],
            &[vec![
                Cell::Int(5),
                Cell::Time(at),
                Cell::Bool(true),
                Cell::Null,
            ]],
        )
        .unwrap();
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            value,
            serde_json::json!([{"attempts": 5, "created_at": "2027-01-15T08:00:00Z", "legacy_sha1": true, "note": null}])
        );
    }

    /// A reader that went away (`| head`) ends the listing with an error, not a panic.
    #[test]
    fn a_closed_pipe_is_an_error_not_a_panic() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let rows = vec![vec![Cell::text("a")]; 3];
        for format in [Format::Table, Format::Csv, Format::Json] {
            assert!(write_rows(&mut Closed, format, &[col("a", "A")], &rows).is_err());
        }
    }
}

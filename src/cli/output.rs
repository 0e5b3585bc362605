//! Report output in the format the operator asks for: an aligned table, CSV or JSON.

use clap::ValueEnum;

use super::table;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

pub fn print(format: Format, headers: &[&str], rows: &[Vec<String>]) {
    match format {
        Format::Table => table::print(headers, rows),
        Format::Csv => {
            println!("{}", headers.join(","));
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
                println!("{}", cells.join(","));
            }
        }
        Format::Json => {
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|row| {
                    headers
                        .iter()
                        .zip(row)
                        .map(|(h, c)| {
                            (h.to_ascii_lowercase(), serde_json::Value::String(c.clone()))
                        })
                        .collect()
                })
                .collect();
            println!("{}", serde_json::Value::from(objects));
        }
    }
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// `90s`, `30m`, `36h`, `7d`, `2w`.
pub fn duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("{text:?}: expected a number and a unit (s, m, h, d, w), e.g. 7d");
    let text = text.trim();
    // The unit is the last character, whatever its width (`7€` must not split inside it).
    let split = text.char_indices().last().map(|(i, _)| i).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok().filter(|n| *n >= 0).ok_or_else(bad)?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(seconds)
        .and_then(chrono::Duration::try_seconds)
        .ok_or_else(bad)
}

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
}

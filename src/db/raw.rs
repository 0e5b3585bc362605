//! Raw SQL on either backend, for the few statements diesel's DSL cannot say on both (an
//! INSERT from a SELECT with bound values, `FOR UPDATE SKIP LOCKED`). Statements are written
//! with `?` placeholders; Postgres gets them numbered.

/// `?` placeholders as Postgres numbers them (`$1`, `$2`, ...). The statements passed here
/// hold no `?` inside string literals.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `diesel::sql_query(sql)` with the listed binds on whichever backend `conn` is, then
/// calls `method` on it (`execute`, `load::<T>`, `get_result::<T>`).
#[macro_export]
macro_rules! raw_sql {
    ($conn:expr, $sql:expr, [$(($ty:ty, $value:expr)),* $(,)?], $($method:tt)+) => {{
        match $conn {
            $crate::db::DbConnection::Postgresql(c) => diesel::sql_query($crate::db::raw::numbered($sql))
                $(.bind::<$ty, _>($value))*
                .$($method)+(c),
            $crate::db::DbConnection::Sqlite(c) => diesel::sql_query($sql)
                $(.bind::<$ty, _>($value))*
                .$($method)+(c),
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
        );
    }
}

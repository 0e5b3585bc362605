//! Storage: one connection type over Postgres and SQLite, r2d2 pools (one per lane: writes,
//! reads, the workers; `lanes`), migrations, and `run`, which moves blocking diesel work off
//! the async executor.

pub mod budgets;
pub mod coalesce;
pub mod commit_signal;
pub mod dry_run;
pub mod lanes;
pub mod migrate;
pub mod models;
pub mod pooler;
pub mod raw;
pub mod schema;
mod url;
mod write;
pub mod write_gate;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};

pub use lanes::Lane;
pub use url::{redact_password, Backend, DatabaseUrl};
pub use write::write_transaction;

use crate::error::DomainError;
use std::sync::atomic::Ordering;

/// Database calls that ended unavailable, busy or in an internal error (see `run`); `/metrics`
/// shows the count.
static DB_ERRORS: AtomicU64 = AtomicU64::new(0);

pub fn errors_total() -> u64 {
    DB_ERRORS.load(Ordering::Relaxed)
}

/// The one connection type every domain function takes.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// One pool per lane (`lanes`), and their checkout waits.
struct Lanes {
    pools: [r2d2::Pool<ConnectionManager>; 3],
    waits: [lanes::Waits; 3],
}

/// The connection pools, and how long one call's database work may take before the caller is
/// answered 503 (see `run`).
#[derive(Clone)]
pub struct Pool {
    lanes: Arc<Lanes>,
    /// The lane this handle's calls use; None: the request's (`lanes::current`), else writes.
    lane: Option<Lane>,
    /// None: Postgres with `IPLS_PG_STATEMENT_TIMEOUT_MS=0`, where a call waits as long as
    /// its statements run.
    call_timeout: Option<Duration>,
    /// When a call last got its answer from the database (ms after `epoch`): a busy pool is
    /// only "busy" while calls keep completing.
    last_answer_ms: Arc<AtomicU64>,
    epoch: Instant,
    /// SQLite: this process's writers take turns here (`write_gate`), whichever lane their
    /// connection came from; None for Postgres.
    write_gate: Option<Arc<write_gate::WriteGate>>,
    /// Postgres behind a transaction pooler: what each write transaction starts with.
    local_settings: Option<String>,
}

impl Pool {
    /// The same pools, with every call of this handle in `lane`, whatever request it serves
    /// (the workers' handles are `Background`; a streamed list's later pages, fetched outside
    /// its request, `Reads`).
    pub fn lane(&self, lane: Lane) -> Pool {
        Pool {
            lane: Some(lane),
            ..self.clone()
        }
    }

    /// The lane a call made now takes: the handle's when it names one, else the request's,
    /// else writes.
    pub fn chosen(&self) -> Lane {
        self.lane.or_else(lanes::current).unwrap_or(Lane::Writes)
    }

    fn pool_of(&self, lane: Lane) -> &r2d2::Pool<ConnectionManager> {
        &self.lanes.pools[lane.index()]
    }

    /// The writes lane's connections (the lane that decides whether ipls is loaded).
    pub fn state(&self) -> r2d2::State {
        self.pool_of(Lane::Writes).state()
    }

    pub fn max_size(&self) -> u32 {
        self.pool_of(Lane::Writes).max_size()
    }

    /// One lane's connections, size and checkout waits, for `/metrics`.
    pub fn lane_figures(&self, lane: Lane) -> (r2d2::State, u32, (u64, u64, f64, u64)) {
        let pool = self.pool_of(lane);
        (
            pool.state(),
            pool.max_size(),
            self.lanes.waits[lane.index()].snapshot(),
        )
    }

    /// How long a call's database work may take before the caller is answered 503 (None:
    /// no bound).
    pub fn call_timeout(&self) -> Option<Duration> {
        self.call_timeout
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn database_answered(&self) {
        self.last_answer_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Whether some call got an answer from the database within the call timeout.
    fn answered_lately(&self) -> bool {
        let last = self.last_answer_ms.load(Ordering::Relaxed);
        let window = self
            .call_timeout
            .unwrap_or(Duration::from_secs(60))
            .as_millis() as u64;
        last > 0 && self.now_ms().saturating_sub(last) <= window
    }
}

/// SQLite waits this long for another writer before giving up with "database is locked".
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// libpq gives up connecting after this many seconds unless the URL says otherwise, so a
/// server (or proxy) that accepts and then says nothing cannot hang a connection attempt.
const PG_CONNECT_TIMEOUT_SECS: u32 = 5;

/// The Postgres URL with `connect_timeout` added when it has none.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={PG_CONNECT_TIMEOUT_SECS}")
}

/// Opens a connection of the backend named by the URL (not by trial and error).
pub fn establish(url: &DatabaseUrl) -> Result<DbConnection, ConnectionError> {
    match url.backend {
        Backend::Postgres => {
            let mut pg = PgConnection::establish(&with_connect_timeout(&url.target))?;
            if url.transaction_pooler {
                pooler::prepare_connection(&mut pg);
            }
            Ok(DbConnection::Postgresql(pg))
        }
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(&url.target)?;
            // Per connection: the busy timeout first, so that the pragmas after it wait for a
            // lock another connection holds instead of failing at once; WAL lets readers run
            // beside the writer; foreign keys are off by default in SQLite.
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
            ))
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// A pooled connection that remembers a lost server. diesel only reports a broken
/// transaction, so after a failure that means "the server is gone" (`run` sees
/// `DomainError::Unavailable`) the connection is marked, and the pool drops it instead of
/// handing a dead socket to the next request after the database comes back.
pub struct PooledConnection {
    conn: DbConnection,
    lost: bool,
}

/// r2d2 manager that opens the backend chosen by `DatabaseUrl`.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    options: PoolOptions,
}

impl ManageConnection for ConnectionManager {
    type Connection = PooledConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PooledConnection, Self::Error> {
        let mut conn = establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        // Behind a transaction pooler the bounds are set per write transaction (`pooler`).
        if let (DbConnection::Postgresql(pg), false) = (&mut conn, self.url.transaction_pooler) {
            // Bounds on every statement of a served request: one stuck row lock or runaway
            // query then ends in a 503 instead of holding pool connections indefinitely.
            pg.batch_execute(&format!(
                "SET statement_timeout = {}; SET lock_timeout = {};",
                self.options.statement_timeout_ms, self.options.lock_timeout_ms
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(PooledConnection { conn, lost: false })
    }

    fn is_valid(&self, pooled: &mut PooledConnection) -> Result<(), Self::Error> {
        pooled.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut PooledConnection) -> bool {
        pooled.lost || std::thread::panicking() || pooled.conn.is_broken()
    }
}

#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Connections of the writes lane (`IPLS_POOL_SIZE`).
    pub max_size: u32,
    /// Connections of the reads lane (`IPLS_READ_POOL_SIZE`).
    pub read_size: u32,
    /// Connections of the workers' lane (`IPLS_BACKGROUND_POOL_SIZE`).
    pub background_size: u32,
    /// How long a request waits for a connection before answering 503.
    pub checkout_timeout: Duration,
    /// Postgres `statement_timeout` of pooled connections, ms (0 = none).
    pub statement_timeout_ms: u64,
    /// Postgres `lock_timeout` of pooled connections, ms (0 = none).
    pub lock_timeout_ms: u64,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            read_size: 8,
            background_size: 4,
            checkout_timeout: Duration::from_secs(3),
            statement_timeout_ms: 10_000,
            lock_timeout_ms: 2_000,
        }
    }
}

/// Builds the lanes' pools without opening connections up front (the writes lane opens one
/// in the background), so that a database that is down at start-up is reported by the first
/// call.
pub fn build_pool(url: &DatabaseUrl, options: &PoolOptions) -> Pool {
    let lane_pool = |size: u32, min_idle: u32| {
        r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(min_idle))
            .connection_timeout(options.checkout_timeout)
            .test_on_check_out(false)
            .build_unchecked(ConnectionManager {
                url: url.clone(),
                options: options.clone(),
            })
    };
    let lanes = Lanes {
        pools: [
            lane_pool(options.max_size, 1),
            lane_pool(options.read_size, 0),
            lane_pool(options.background_size, 0),
        ],
        waits: Default::default(),
    };
    Pool {
        lanes: Arc::new(lanes),
        lane: None,
        call_timeout: options.call_timeout(url.backend),
        last_answer_ms: Arc::new(AtomicU64::new(0)),
        epoch: Instant::now(),
        write_gate: (url.backend == Backend::Sqlite).then(Arc::default),
        local_settings: pooler::local_settings(options, url.transaction_pooler),
    }
}

impl PoolOptions {
    /// The longest a call's database work can legitimately take: the wait for a connection
    /// plus the longest a statement may run (Postgres `statement_timeout`, SQLite's busy
    /// timeout), plus a second of slack. Past it the connection is stuck (a server or
    /// network that stopped answering) and the caller gets its 503 anyway. None when the
    /// operator set no statement timeout on Postgres (`IPLS_PG_STATEMENT_TIMEOUT_MS=0`): a
    /// call then waits for its statements however long they run.
    pub fn call_timeout(&self, backend: Backend) -> Option<Duration> {
        let statement = match backend {
            Backend::Postgres if self.statement_timeout_ms > 0 => {
                Duration::from_millis(self.statement_timeout_ms)
            }
            Backend::Postgres => return None,
            Backend::Sqlite => Duration::from_millis(u64::from(SQLITE_BUSY_TIMEOUT_MS)),
        };
        Some(self.checkout_timeout + statement + Duration::from_secs(1))
    }
}

/// Runs `f` with a pooled connection on actix's blocking thread pool. A call whose work has
/// not finished within the pool's call timeout is answered `Unavailable` at once; the
/// blocking thread keeps its connection until the database or network answers or fails,
/// and whatever it then does was never acknowledged to anyone.
pub async fn run<F, T>(pool: &Pool, f: F) -> Result<T, DomainError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    let lane = pool.chosen();
    let inner = pool.pool_of(lane).clone();
    let lanes = pool.lanes.clone();
    let gate = pool.write_gate.clone();
    let settings = pool.local_settings.clone();
    let dry = dry_run::session();
    let work = actix_web::web::block(move || {
        if let Some(session) = dry {
            let _settings = pooler::enter(settings);
            return session.run(&inner, f);
        }
        let asked = Instant::now();
        let got = inner.get();
        lanes.waits[lane.index()].record(asked.elapsed(), got.is_ok());
        let mut pooled = got.map_err(|e| DomainError::Unavailable(e.to_string()))?;
        let _gate = write_gate::enter(gate);
        let _settings = pooler::enter(settings);
        let result = f(&mut pooled.conn);
        if matches!(result, Err(DomainError::Unavailable(_))) {
            pooled.lost = true;
        }
        result
    });
    let answered = pool.clone();
    let result = match within(pool.call_timeout, work).await {
        Ok(done) => done
            .map_err(|e| DomainError::Internal(format!("blocking task failed: {e}")))
            .and_then(|result| result),
        Err(limit) => Err(DomainError::Unavailable(format!(
            "the database did not answer within {} ms",
            limit.as_millis()
        ))),
    };
    if !matches!(result, Err(DomainError::Unavailable(_))) {
        answered.database_answered();
    }
    if matches!(
        result,
        Err(DomainError::Unavailable(_) | DomainError::Busy(_) | DomainError::Internal(_))
    ) {
        DB_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
    result
}

/// `work`'s output, or Err(limit) when a bound was set and passed first.
pub async fn within<F: std::future::Future>(
    limit: Option<Duration>,
    work: F,
) -> Result<F::Output, Duration> {
    match limit {
        Some(limit) => actix_web::rt::time::timeout(limit, work)
            .await
            .map_err(|_| limit),
        None => Ok(work.await),
    }
}

/// What a health check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// A connection answered `SELECT 1`.
    Online,
    /// No connection was free within the checkout timeout, but the pool holds all its
    /// connections, every one in use, and calls keep getting answers: the database answers,
    /// ipls is loaded.
    Busy,
    /// The database did not answer.
    Offline,
}

/// Waits its turn for a connection of the pool's lane (the checkout timeout) and runs
/// `SELECT 1`.
pub async fn health(pool: &Pool) -> Health {
    let answered = run(pool, |c| {
        diesel::sql_query("SELECT 1").execute(c)?;
        Ok(())
    })
    .await;
    if answered.is_ok() {
        return Health::Online;
    }
    let lane = pool.pool_of(pool.chosen());
    let state = lane.state();
    let all_in_use = state.connections == lane.max_size() && state.idle_connections == 0;
    if all_in_use && pool.answered_lately() {
        Health::Busy
    } else {
        Health::Offline
    }
}

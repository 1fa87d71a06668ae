//! What differs between PostgreSQL's and MySQL's SQL, in one place: the
//! tables, the statements, how a transaction begins, and which server
//! errors mean the request certainly had no effect.
//!
//! Statements take integer parameters only, named `$1 $2 $3` (PostgreSQL)
//! or `:p1 :p2 :p3` (MySQL, where a name may repeat), in the order
//! [`Stmt`] documents.

use super::Isolation;
use serde::Deserialize;

/// The SQL dialect and wire protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// MySQL's protocol (MySQL, MariaDB, Percona, TiDB, Vitess ...), on
    /// `mysql_async`.
    Mysql,
    /// PostgreSQL's protocol (PostgreSQL, CockroachDB, YugabyteDB ...), on
    /// `tokio-postgres`.
    Postgres,
}

/// One statement a workload runs; parameters in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stmt {
    /// list-append: (k, v): append v to k's list, creating it.
    Append,
    /// list-append: (k): k's list, or no row.
    ReadList,
    /// rw-register, register, long-fork: (k, v).
    WriteRegister,
    /// (k): k's value, or no row.
    ReadRegister,
    /// register: (k, old, new): one row affected when it swapped.
    Cas,
    /// bank: (id, balance), nothing when the account exists.
    BankInit,
    /// bank: (id, amount): one row affected when it held enough.
    BankDebit,
    /// bank: (id, amount), overdraft allowed.
    BankDebitAny,
    /// bank: (id, amount).
    BankCredit,
    /// bank: (): every (id, balance), by id.
    BankRead,
    /// counter: (delta).
    CounterAdd,
    /// counter: (): the one value, 0 before the first add.
    CounterRead,
    /// unique-ids: (): a committed insert's generated key (MySQL: the
    /// statement's LAST_INSERT_ID).
    GenerateId,
    /// set: (v).
    SetAdd,
    /// set: (): every element, in insertion order.
    SetRead,
    /// queue: (v).
    Enqueue,
    /// queue: (): the oldest element, deleted; no row when empty.
    Dequeue,
    /// queue: (): every element, oldest first, all deleted.
    Drain,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Mysql => "mysql",
            Dialect::Postgres => "postgres",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Dialect::Mysql => 3306,
            Dialect::Postgres => 5432,
        }
    }

    pub fn default_user(self) -> &'static str {
        match self {
            Dialect::Mysql => "root",
            Dialect::Postgres => "postgres",
        }
    }

    pub fn default_database(self) -> &'static str {
        match self {
            Dialect::Mysql => "jepsen",
            Dialect::Postgres => "postgres",
        }
    }

    /// The workloads this dialect has statements for.
    pub fn workloads(self) -> &'static [&'static str] {
        const ALL: &[&str] = &[
            "list-append",
            "rw-register",
            "register",
            "bank",
            "set",
            "counter",
            "long-fork",
            "unique-ids",
            "queue",
            "total-queue",
        ];
        match self {
            // No DELETE ... RETURNING in MySQL.
            Dialect::Mysql => &ALL[..ALL.len() - 2],
            Dialect::Postgres => ALL,
        }
    }

    /// The tables a workload uses, created (if missing) before its first op.
    pub fn tables(self, workload: &str) -> &'static [&'static str] {
        use Dialect::*;
        match (self, workload) {
            (Postgres, "list-append") => {
                &["CREATE TABLE IF NOT EXISTS lists (k bigint PRIMARY KEY, v bigint[] NOT NULL)"]
            }
            (Mysql, "list-append") => {
                &["CREATE TABLE IF NOT EXISTS lists (k BIGINT PRIMARY KEY, v TEXT NOT NULL)"]
            }
            (Postgres, "rw-register" | "register" | "long-fork") => {
                &["CREATE TABLE IF NOT EXISTS registers (k bigint PRIMARY KEY, v bigint)"]
            }
            (Mysql, "rw-register" | "register" | "long-fork") => {
                &["CREATE TABLE IF NOT EXISTS registers (k BIGINT PRIMARY KEY, v BIGINT)"]
            }
            (Postgres, "bank") => &[
                "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)",
            ],
            (Mysql, "bank") => &[
                "CREATE TABLE IF NOT EXISTS accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
            ],
            (Postgres, "counter") => {
                &["CREATE TABLE IF NOT EXISTS counters (k bigint PRIMARY KEY, v bigint NOT NULL)"]
            }
            (Mysql, "counter") => {
                &["CREATE TABLE IF NOT EXISTS counters (k BIGINT PRIMARY KEY, v BIGINT NOT NULL)"]
            }
            (Postgres, "unique-ids") => &["CREATE TABLE IF NOT EXISTS ids (id bigserial PRIMARY KEY)"],
            (Mysql, "unique-ids") => {
                &["CREATE TABLE IF NOT EXISTS ids (id BIGINT AUTO_INCREMENT PRIMARY KEY)"]
            }
            (Postgres, "set") => &[
                "CREATE TABLE IF NOT EXISTS sets (id bigserial PRIMARY KEY, v bigint NOT NULL)",
            ],
            (Mysql, "set") => &[
                "CREATE TABLE IF NOT EXISTS sets (id BIGINT AUTO_INCREMENT PRIMARY KEY, v BIGINT NOT NULL)",
            ],
            (Postgres, "queue" | "total-queue") => &[
                "CREATE TABLE IF NOT EXISTS queue (id bigserial PRIMARY KEY, v bigint NOT NULL)",
            ],
            _ => &[],
        }
    }

    /// Every table of every workload offered, each once.
    pub fn all_tables(self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = Vec::new();
        for w in self.workloads() {
            for t in self.tables(w) {
                if !all.contains(t) {
                    all.push(t);
                }
            }
        }
        all
    }

    /// The statement's text.
    pub fn stmt(self, s: Stmt) -> &'static str {
        use Stmt::*;
        match self {
            Dialect::Postgres => match s {
                Append => {
                    "INSERT INTO lists AS l (k, v) VALUES ($1, ARRAY[$2::bigint]) \
                     ON CONFLICT (k) DO UPDATE SET v = l.v || $2::bigint"
                }
                ReadList => "SELECT v FROM lists WHERE k = $1",
                WriteRegister => {
                    "INSERT INTO registers AS r (k, v) VALUES ($1, $2) \
                     ON CONFLICT (k) DO UPDATE SET v = excluded.v"
                }
                ReadRegister => "SELECT v FROM registers WHERE k = $1",
                Cas => "UPDATE registers SET v = $3 WHERE k = $1 AND v = $2",
                BankInit => {
                    "INSERT INTO accounts (id, balance) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING"
                }
                BankDebit => {
                    "UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2"
                }
                BankDebitAny => "UPDATE accounts SET balance = balance - $2 WHERE id = $1",
                BankCredit => "UPDATE accounts SET balance = balance + $2 WHERE id = $1",
                BankRead => "SELECT id, balance FROM accounts ORDER BY id",
                CounterAdd => {
                    "INSERT INTO counters AS c (k, v) VALUES (0, $1) \
                     ON CONFLICT (k) DO UPDATE SET v = c.v + excluded.v"
                }
                CounterRead => "SELECT coalesce((SELECT v FROM counters WHERE k = 0), 0)",
                GenerateId => "INSERT INTO ids DEFAULT VALUES RETURNING id",
                SetAdd => "INSERT INTO sets (v) VALUES ($1)",
                SetRead => "SELECT v FROM sets ORDER BY id",
                Enqueue => "INSERT INTO queue (v) VALUES ($1)",
                Dequeue => {
                    "DELETE FROM queue WHERE id = (SELECT id FROM queue ORDER BY id \
                     LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING v"
                }
                Drain => {
                    "WITH taken AS (DELETE FROM queue RETURNING id, v) \
                     SELECT v FROM taken ORDER BY id"
                }
            },
            Dialect::Mysql => match s {
                // The list is its elements' decimal text, comma-separated.
                Append => {
                    "INSERT INTO lists (k, v) VALUES (:p1, :p2) \
                     ON DUPLICATE KEY UPDATE v = CONCAT(v, ',', :p2)"
                }
                ReadList => "SELECT v FROM lists WHERE k = :p1",
                WriteRegister => {
                    "INSERT INTO registers (k, v) VALUES (:p1, :p2) ON DUPLICATE KEY UPDATE v = :p2"
                }
                ReadRegister => "SELECT v FROM registers WHERE k = :p1",
                // Rows affected are rows found (CLIENT_FOUND_ROWS), so a
                // cas from x to x counts.
                Cas => "UPDATE registers SET v = :p3 WHERE k = :p1 AND v = :p2",
                BankInit => {
                    "INSERT INTO accounts (id, balance) VALUES (:p1, :p2) \
                     ON DUPLICATE KEY UPDATE id = id"
                }
                BankDebit => {
                    "UPDATE accounts SET balance = balance - :p2 WHERE id = :p1 AND balance >= :p2"
                }
                BankDebitAny => "UPDATE accounts SET balance = balance - :p2 WHERE id = :p1",
                BankCredit => "UPDATE accounts SET balance = balance + :p2 WHERE id = :p1",
                BankRead => "SELECT id, balance FROM accounts ORDER BY id",
                CounterAdd => {
                    "INSERT INTO counters (k, v) VALUES (0, :p1) ON DUPLICATE KEY UPDATE v = v + :p1"
                }
                CounterRead => "SELECT COALESCE((SELECT v FROM counters WHERE k = 0), 0)",
                GenerateId => "INSERT INTO ids () VALUES ()",
                SetAdd => "INSERT INTO sets (v) VALUES (:p1)",
                SetRead => "SELECT v FROM sets ORDER BY id",
                // Not offered (see `workloads`): a statement that fails.
                Enqueue | Dequeue | Drain => "SELECT no_queue_statements_in_mysql",
            },
        }
    }

    /// Set on every new connection, so single statements in autocommit run
    /// at the level too.
    pub fn session_isolation(self, level: Isolation) -> String {
        match self {
            Dialect::Postgres => format!(
                "SET default_transaction_isolation = '{}'",
                level.sql().to_lowercase()
            ),
            Dialect::Mysql => format!("SET SESSION TRANSACTION ISOLATION LEVEL {}", level.sql()),
        }
    }

    /// Opens a transaction (at `level` when given, else the session's).
    pub fn begin(self, level: Option<Isolation>, read_only: bool) -> String {
        let ro = if read_only { " READ ONLY" } else { "" };
        match (self, level) {
            (Dialect::Postgres, Some(l)) => format!("BEGIN ISOLATION LEVEL {}{ro}", l.sql()),
            (Dialect::Postgres, None) => format!("BEGIN{ro}"),
            // MySQL takes the level from the session (set at connect).
            (Dialect::Mysql, _) => format!("START TRANSACTION{ro}"),
        }
    }

    /// Whether a server error with this code (SQLSTATE for PostgreSQL, the
    /// error number for MySQL) is raised before anything is applied, so
    /// the request certainly had no effect, even at COMMIT.
    pub fn certainly_not_applied(self, code: &str) -> bool {
        match self {
            // 40: serialization failure, deadlock (the txn rolled back);
            // 23: constraint violation; 22: data exception; 25: invalid
            // transaction state (e.g. a write on a standby); 42: syntax or
            // access; 53: insufficient resources; 57P03: cannot connect now.
            Dialect::Postgres => {
                ["40", "23", "22", "25", "42", "53"]
                    .iter()
                    .any(|class| code.starts_with(class))
                    || code == "57P03"
            }
            // 1020: record changed since last read (snapshot isolation's
            // write conflict); 1205: lock wait timeout; 1213: deadlock (and
            // Galera's certification failure); 1062: duplicate key; 1047:
            // Galera node not ready for queries; 1792: write in a read-only
            // txn; 1290: the server is read-only; 1044/1045/1142: access;
            // 1049/1146/1054/1064: no database, table, column; syntax.
            Dialect::Mysql => matches!(
                code,
                "1020"
                    | "1205"
                    | "1213"
                    | "1062"
                    | "1047"
                    | "1792"
                    | "1290"
                    | "1044"
                    | "1045"
                    | "1142"
                    | "1049"
                    | "1146"
                    | "1054"
                    | "1064"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_workload_has_tables_and_statements() {
        for d in [Dialect::Mysql, Dialect::Postgres] {
            for w in d.workloads() {
                assert!(!d.tables(w).is_empty(), "{d:?} {w}");
            }
        }
        assert!(Dialect::Mysql.tables("queue").is_empty());
        assert!(Dialect::Mysql.stmt(Stmt::Append).contains(":p2"));
        assert!(Dialect::Postgres.stmt(Stmt::Append).contains("$2"));
    }

    #[test]
    fn transactions_begin_at_the_level() {
        let d = Dialect::Postgres;
        assert_eq!(
            d.begin(Some(Isolation::RepeatableRead), false),
            "BEGIN ISOLATION LEVEL REPEATABLE READ"
        );
        assert_eq!(
            d.begin(Some(Isolation::Serializable), true),
            "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY"
        );
        assert_eq!(d.begin(None, false), "BEGIN");
        let m = Dialect::Mysql;
        assert_eq!(
            m.begin(Some(Isolation::Serializable), true),
            "START TRANSACTION READ ONLY"
        );
        assert_eq!(
            m.session_isolation(Isolation::ReadUncommitted),
            "SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED"
        );
        assert_eq!(
            d.session_isolation(Isolation::ReadCommitted),
            "SET default_transaction_isolation = 'read committed'"
        );
    }

    #[test]
    fn only_errors_raised_before_anything_is_done_are_certain() {
        let pg = Dialect::Postgres;
        for c in ["40001", "40P01", "23505", "25006", "57P03"] {
            assert!(pg.certainly_not_applied(c), "{c}");
        }
        assert!(!pg.certainly_not_applied("57P01"), "admin shutdown");
        assert!(!pg.certainly_not_applied("08006"));
        let my = Dialect::Mysql;
        for c in ["1020", "1205", "1213", "1062", "1047"] {
            assert!(my.certainly_not_applied(c), "{c}");
        }
        // Got error during COMMIT; shutdown in progress; connection killed.
        for c in ["1180", "1053", "1927", "2013"] {
            assert!(!my.certainly_not_applied(c), "{c}");
        }
    }
}

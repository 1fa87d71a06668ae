//! One connection to one server, on `tokio-postgres` or `mysql_async`,
//! behind the calls [`ops`](super::ops) needs: run a statement (rows
//! affected), read rows of integers, read a list.

use super::dialect::{Dialect, Stmt};
use super::Isolation;
use mysql_async::prelude::Queryable;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// Where and how to connect. `Debug` never shows the password.
#[derive(Clone)]
pub enum Server {
    Postgres(Box<tokio_postgres::Config>),
    Mysql {
        opts: Box<mysql_async::OptsBuilder>,
        connect_timeout: Duration,
    },
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // tokio-postgres redacts the password itself.
            Server::Postgres(c) => write!(f, "Server::Postgres({c:?})"),
            Server::Mysql { .. } => write!(f, "Server::Mysql(..)"),
        }
    }
}

impl Server {
    pub fn new(
        dialect: Dialect,
        host: &str,
        port: u16,
        user: &str,
        password: Option<&str>,
        database: &str,
        connect_timeout: Duration,
    ) -> Server {
        match dialect {
            Dialect::Postgres => {
                let mut c = tokio_postgres::Config::new();
                c.host(host)
                    .port(port)
                    .user(user)
                    .dbname(database)
                    .application_name("shakedown")
                    .connect_timeout(connect_timeout);
                if let Some(p) = password {
                    c.password(p);
                }
                Server::Postgres(Box::new(c))
            }
            Dialect::Mysql => Server::Mysql {
                opts: Box::new(
                    mysql_async::OptsBuilder::default()
                        .ip_or_hostname(host)
                        .tcp_port(port)
                        .user(Some(user))
                        .pass(password)
                        .db_name(Some(database))
                        .prefer_socket(false)
                        .client_found_rows(true),
                ),
                connect_timeout,
            },
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Server::Postgres(_) => Dialect::Postgres,
            Server::Mysql { .. } => Dialect::Mysql,
        }
    }
}

/// A server's answer to a request that failed: its code when the server
/// said so (SQLSTATE, or MySQL's error number), else none (the connection
/// broke, a timeout, the driver).
#[derive(Debug)]
pub struct DbError {
    pub error: String,
    pub code: Option<String>,
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> DbError {
        DbError {
            error: crate::postgres::db::describe(&e),
            code: e.as_db_error().map(|d| d.code().code().to_string()),
        }
    }
}

impl From<mysql_async::Error> for DbError {
    fn from(e: mysql_async::Error) -> DbError {
        match e {
            mysql_async::Error::Server(s) => DbError {
                error: format!("ERROR {} ({}): {}", s.code, s.state, s.message),
                code: Some(s.code.to_string()),
            },
            other => DbError {
                error: other.to_string(),
                code: None,
            },
        }
    }
}

/// An open connection.
pub enum Session {
    Postgres {
        client: tokio_postgres::Client,
        prepared: HashMap<Stmt, tokio_postgres::Statement>,
    },
    Mysql(Box<mysql_async::Conn>),
}

impl Session {
    /// Connects, sets the isolation level (when given) and runs `setup`:
    /// an error here means nothing of an op was sent.
    pub async fn open(
        server: &Server,
        isolation: Option<Isolation>,
        setup: &[String],
    ) -> Result<Session, String> {
        let dialect = server.dialect();
        let mut first: Vec<String> = isolation
            .map(|l| dialect.session_isolation(l))
            .into_iter()
            .collect();
        first.extend(setup.iter().cloned());
        if dialect == Dialect::Mysql {
            // Single statements commit on their own (a `setup` that turned
            // autocommit off would leave every acknowledged write
            // uncommitted).
            first.push("SET autocommit = 1".into());
        }
        let mut s = match server {
            Server::Postgres(config) => Session::Postgres {
                client: crate::postgres::db::connect(config).await?,
                prepared: HashMap::new(),
            },
            Server::Mysql {
                opts,
                connect_timeout,
            } => {
                let conn = tokio::time::timeout(
                    *connect_timeout,
                    mysql_async::Conn::new((**opts).clone()),
                )
                .await
                .map_err(|_| format!("no connection within {connect_timeout:?}"))?
                .map_err(|e| DbError::from(e).error)?;
                Session::Mysql(Box::new(conn))
            }
        };
        for sql in &first {
            s.batch(sql)
                .await
                .map_err(|e| format!("{sql}: {}", e.error))?;
        }
        Ok(s)
    }

    /// Whether the driver knows the connection is gone.
    pub fn is_closed(&self) -> bool {
        match self {
            Session::Postgres { client, .. } => client.is_closed(),
            Session::Mysql(_) => false,
        }
    }

    /// Runs statements with no parameters and no rows (BEGIN, COMMIT, DDL).
    pub async fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Session::Postgres { client, .. } => Ok(client.batch_execute(sql).await?),
            Session::Mysql(c) => Ok(c.query_drop(sql).await?),
        }
    }

    async fn pg_statement(
        client: &tokio_postgres::Client,
        prepared: &mut HashMap<Stmt, tokio_postgres::Statement>,
        s: Stmt,
    ) -> Result<tokio_postgres::Statement, DbError> {
        if let Some(st) = prepared.get(&s) {
            return Ok(st.clone());
        }
        let st = client.prepare(Dialect::Postgres.stmt(s)).await?;
        prepared.insert(s, st.clone());
        Ok(st)
    }

    fn my_params(params: &[i64]) -> mysql_async::Params {
        if params.is_empty() {
            return mysql_async::Params::Empty;
        }
        mysql_async::Params::Named(
            params
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        format!("p{}", i + 1).into_bytes(),
                        mysql_async::Value::Int(*v),
                    )
                })
                .collect(),
        )
    }

    /// Runs a statement; the rows it affected (MySQL: found).
    pub async fn execute(&mut self, s: Stmt, params: &[i64]) -> Result<u64, DbError> {
        match self {
            Session::Postgres { client, prepared } => {
                let st = Self::pg_statement(client, prepared, s).await?;
                let args = pg_params(params);
                Ok(client.execute(&st, &args).await?)
            }
            Session::Mysql(c) => {
                c.exec_drop(Dialect::Mysql.stmt(s), Self::my_params(params))
                    .await?;
                Ok(c.affected_rows())
            }
        }
    }

    /// Runs a query whose columns are integers (or null).
    pub async fn ints(
        &mut self,
        s: Stmt,
        params: &[i64],
    ) -> Result<Vec<Vec<Option<i64>>>, DbError> {
        match self {
            Session::Postgres { client, prepared } => {
                let st = Self::pg_statement(client, prepared, s).await?;
                let args = pg_params(params);
                let rows = client.query(&st, &args).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let mut row = Vec::with_capacity(r.len());
                    for i in 0..r.len() {
                        row.push(r.try_get::<_, Option<i64>>(i)?);
                    }
                    out.push(row);
                }
                Ok(out)
            }
            Session::Mysql(c) => {
                if s == Stmt::GenerateId {
                    c.exec_drop(Dialect::Mysql.stmt(s), mysql_async::Params::Empty)
                        .await?;
                    let id = c.last_insert_id().ok_or_else(|| DbError {
                        error: "the insert returned no LAST_INSERT_ID".into(),
                        code: None,
                    })?;
                    let id = i64::try_from(id).map_err(|_| DbError {
                        error: format!("LAST_INSERT_ID {id} does not fit a 64-bit integer"),
                        code: None,
                    })?;
                    return Ok(vec![vec![Some(id)]]);
                }
                let rows: Vec<mysql_async::Row> = c
                    .exec(Dialect::Mysql.stmt(s), Self::my_params(params))
                    .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let mut row = Vec::with_capacity(r.len());
                    for i in 0..r.len() {
                        let v = r
                            .get_opt::<Option<i64>, usize>(i)
                            .transpose()
                            .map_err(|e| DbError {
                                error: format!("column {i}: {e}"),
                                code: None,
                            })?;
                        row.push(v.flatten());
                    }
                    out.push(row);
                }
                Ok(out)
            }
        }
    }

    /// Reads one list (list-append's [`Stmt::ReadList`]): none when there
    /// is no row.
    pub async fn list(&mut self, s: Stmt, params: &[i64]) -> Result<Option<Vec<i64>>, DbError> {
        match self {
            Session::Postgres { client, prepared } => {
                let st = Self::pg_statement(client, prepared, s).await?;
                let args = pg_params(params);
                match client.query_opt(&st, &args).await? {
                    Some(r) => Ok(Some(r.try_get::<_, Vec<i64>>(0)?)),
                    None => Ok(None),
                }
            }
            Session::Mysql(c) => {
                let text: Option<String> = c
                    .exec_first(Dialect::Mysql.stmt(s), Self::my_params(params))
                    .await?;
                text.map(|t| parse_list(&t)).transpose()
            }
        }
    }
}

/// The parameters as tokio-postgres takes them.
fn pg_params(params: &[i64]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

/// MySQL's list: decimal integers joined by commas ("" is empty).
fn parse_list(text: &str) -> Result<Vec<i64>, DbError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|e| {
            e.trim().parse().map_err(|_| DbError {
                error: format!("the list {text:?} holds {e:?}, not an integer"),
                code: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_lists_are_comma_separated_integers() {
        assert_eq!(parse_list("").unwrap(), Vec::<i64>::new());
        assert_eq!(parse_list("3").unwrap(), vec![3]);
        assert_eq!(parse_list("3,1,-2").unwrap(), vec![3, 1, -2]);
        let e = parse_list("3,x").unwrap_err();
        assert!(e.error.contains("\"x\"") && e.code.is_none(), "{e:?}");
    }

    #[test]
    fn a_server_never_shows_its_password() {
        for d in [Dialect::Mysql, Dialect::Postgres] {
            let s = Server::new(
                d,
                "h",
                1,
                "u",
                Some("hunter2"),
                "db",
                Duration::from_secs(1),
            );
            let shown = format!("{s:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}
